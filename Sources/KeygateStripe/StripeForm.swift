/// The flattened, ordered fields of a Stripe request and their `application/x-www-form-urlencoded` text.
public struct StripeForm: Sendable {
    /// Flattened names (`metadata[keygate_org]`) and values, in the order they are sent.
    public private(set) var fields: [(name: String, value: String)]

    public init() {
        fields = []
    }

    /// Flattens nested values: an object's entries become `name[key]`, an array's items `name[index]`;
    /// an empty object or array sends nothing.
    public init(_ entries: [(String, StripeFormValue)]) {
        fields = []
        for (name, value) in entries { Self.flatten(value, name: name, into: &fields) }
    }

    public var isEmpty: Bool { fields.isEmpty }
    public var names: [String] { fields.map(\.name) }

    /// The value of the first field with this flattened name.
    public subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// `name=value&…` with every byte outside RFC 3986's unreserved set percent-encoded (brackets included, as
    /// stripe-python does; a space is `%20`).
    public var encoded: String {
        fields.map { Self.percentEncoded($0.name) + "=" + Self.percentEncoded($0.value) }.joined(separator: "&")
    }

    static func flatten(_ value: StripeFormValue, name: String, into fields: inout [(name: String, value: String)]) {
        switch value {
        case .string(let text):
            fields.append((name, text))
        case .object(let entries):
            for (key, nested) in entries { flatten(nested, name: "\(name)[\(key)]", into: &fields) }
        case .array(let items):
            for (index, nested) in items.enumerated() { flatten(nested, name: "\(name)[\(index)]", into: &fields) }
        }
    }

    static func percentEncoded(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
