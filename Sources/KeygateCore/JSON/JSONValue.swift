/// Any JSON document, kept whole so a request body can be inspected, changed in one place and re-encoded
/// without losing or reordering what Keygate does not interpret.
///
/// Fidelity invariants: object keys keep their order; numbers keep their exact text (`1e400`, `0.10`,
/// `12345678901234567890` come out as they went in). Parsing and encoding are Keygate's own
/// (`JSONParser`, `JSONWriter`): this runs twice per request, and Foundation's coders cost several times more.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// The number's text, as validated by the parser.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func int(_ value: Int64) -> JSONValue { .number(String(value)) }
    public static func double(_ value: Double) -> JSONValue { .number(value.isFinite ? "\(value)" : "0") }

    public subscript(key: String) -> JSONValue? {
        get { if case .object(let o) = self { return o[key] } else { return nil } }
        set {
            guard case .object(var o) = self else { return }
            self = .null  // let `o` be uniquely referenced while it changes
            o[key] = newValue
            self = .object(o)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    /// An integer, also when written as `12.0` or `1e3`.
    public var int64Value: Int64? {
        guard case .number(let text) = self else { return nil }
        if let exact = Int64(text) { return exact }
        guard let d = Double(text), d.rounded() == d, abs(d) < 9e15 else { return nil }
        return Int64(d)
    }
    public var doubleValue: Double? { if case .number(let text) = self { return Double(text) } else { return nil } }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    /// The JSON type name, as used in error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public static func decode(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        try JSONParser.parse(bytes)
    }

    public func encoded() -> [UInt8] {
        var writer = JSONWriter()
        writer.write(self)
        return writer.bytes
    }
}

/// A JSON object with its keys in document order. Lookups are linear: request and response objects have a
/// handful of keys, where a scan beats hashing.
public struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public struct Entry: Sendable, Hashable {
        public var key: String
        public var value: JSONValue
        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public private(set) var entries: [Entry]

    public init() { entries = [] }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        entries = elements.map { Entry(key: $0.0, value: $0.1) }
    }
    public init(entries: [Entry]) { self.entries = entries }

    /// The last value for `key` (as most parsers do with duplicate keys); setting nil removes the key.
    public subscript(key: String) -> JSONValue? {
        get { entries.last(where: { $0.key == key })?.value }
        set {
            if let newValue {
                if let index = entries.lastIndex(where: { $0.key == key }) {
                    entries[index].value = newValue
                } else {
                    entries.append(Entry(key: key, value: newValue))
                }
            } else {
                entries.removeAll { $0.key == key }
            }
        }
    }

    /// The first key that appears more than once, if any. Parsers disagree on which duplicate wins (the last
    /// here, the first in some), so a body forwarded with a field replaced must not carry one.
    public var firstRepeatedKey: String? {
        var seen = Set<String>(minimumCapacity: entries.count)
        return entries.first { !seen.insert($0.key).inserted }?.key
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}
