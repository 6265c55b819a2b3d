/// Why an operator's user command was refused, in words.
public struct DashboardAccountError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
