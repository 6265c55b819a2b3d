import Foundation

/// A JSON value as the fake Stripe keeps and sends its objects: object keys in insertion order (Stripe's own
/// order, so answers read like Stripe's), integers only (Stripe's amounts and times are integers), and
/// rendered pretty-printed with two spaces, as Stripe renders API answers and webhook bodies. Keeping objects
/// as values (not typed models) lets one generic path store, mutate, render and replay every object kind.
enum StripeJSON: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByNilLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([StripeJSON])
    case object([(key: String, value: StripeJSON)])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(nilLiteral: ()) { self = .null }
    init(arrayLiteral elements: StripeJSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, StripeJSON)...) { self = .object(elements.map { (key: $0.0, value: $0.1) }) }

    /// A string, or null when absent.
    static func optional(_ value: String?) -> StripeJSON { value.map { .string($0) } ?? .null }
    static func optional(_ value: Int?) -> StripeJSON { value.map { .int($0) } ?? .null }

    /// A field of an object (nil for other values and absent keys); setting replaces in place or appends.
    subscript(key: String) -> StripeJSON? {
        get {
            guard case .object(let fields) = self else { return nil }
            return fields.first { $0.key == key }?.value
        }
        set {
            guard case .object(var fields) = self else { return }
            if let index = fields.firstIndex(where: { $0.key == key }) {
                if let newValue { fields[index].value = newValue } else { fields.remove(at: index) }
            } else if let newValue {
                fields.append((key: key, value: newValue))
            }
            self = .object(fields)
        }
    }

    var string: String? { if case .string(let value) = self { value } else { nil } }
    var int: Int? { if case .int(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }

    /// The rendered bytes, pretty-printed like Stripe's answers.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        write(to: &out, indent: 0)
        return out
    }

    private func write(to out: inout [UInt8], indent: Int) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value): out += Array(String(value).utf8)
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let elements):
            guard !elements.isEmpty else { out += Array("[]".utf8); return }
            out += Array("[\n".utf8)
            for (index, element) in elements.enumerated() {
                out += Array(repeating: UInt8(ascii: " "), count: indent + 2)
                element.write(to: &out, indent: indent + 2)
                out += Array((index == elements.count - 1 ? "\n" : ",\n").utf8)
            }
            out += Array(repeating: UInt8(ascii: " "), count: indent) + [UInt8(ascii: "]")]
        case .object(let fields):
            guard !fields.isEmpty else { out += Array("{}".utf8); return }
            out += Array("{\n".utf8)
            for (index, field) in fields.enumerated() {
                out += Array(repeating: UInt8(ascii: " "), count: indent + 2)
                Self.writeString(field.key, to: &out)
                out += Array(": ".utf8)
                field.value.write(to: &out, indent: indent + 2)
                out += Array((index == fields.count - 1 ? "\n" : ",\n").utf8)
            }
            out += Array(repeating: UInt8(ascii: " "), count: indent) + [UInt8(ascii: "}")]
        }
    }

    private static func writeString(_ value: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += Array("\\\"".utf8)
            case "\\": out += Array("\\\\".utf8)
            case "\n": out += Array("\\n".utf8)
            case "\r": out += Array("\\r".utf8)
            case "\t": out += Array("\\t".utf8)
            case _ where scalar.value < 0x20: out += Array(String(format: "\\u%04x", scalar.value).utf8)
            default: out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
