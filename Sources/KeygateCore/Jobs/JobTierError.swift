/// A mistake in the tiers file, naming the file and the field.
public struct JobTierError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var field: String
    public var reason: String

    public var description: String { "KEYGATE_TIERS file \(path): \(field) \(reason)" }
}
