/// A provider in the BYOK picker: a plain API key, or (aws, azure) a JSON object whose example shape the
/// form shows.
public struct BYOKProviderChoice: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The example JSON object for a structured credential; nil for a plain API key.
    public var jsonExample: String?

    public init(id: String, name: String, jsonExample: String?) {
        self.id = id
        self.name = name
        self.jsonExample = jsonExample
    }
}
