import KeygateCore

/// A job's metadata (an object of strings) as both backends store it: JSON text, keys in the order given.
public enum JobMetadata {
    public static func encode(_ metadata: [String: String]) -> String {
        let object = JSONObject(entries: metadata.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) })
        return String(decoding: JSONValue.object(object).encoded(), as: UTF8.self)
    }

    public static func decode(_ text: String) -> [String: String] {
        guard let object = (try? JSONValue.decode(Array(text.utf8)))?.objectValue else { return [:] }
        var metadata: [String: String] = [:]
        for entry in object { if let value = entry.value.stringValue { metadata[entry.key] = value } }
        return metadata
    }
}
