import KeygateCore

/// Reads fields of one Stripe object, throwing a `StripeDecodingError` that names the missing field. Extra fields
/// are ignored (Stripe adds fields without a version change).
struct StripeObjectReader {
    let object: JSONObject
    /// Stripe's `object` name, for error messages ("payment_intent").
    let kind: String

    init(_ value: JSONValue, kind: String) throws(StripeDecodingError) {
        guard case .object(let object) = value else {
            throw StripeDecodingError(object: kind, field: "(object)", reason: "is \(value.typeName), expected an object")
        }
        if let declared = object["object"]?.stringValue, declared != kind {
            throw StripeDecodingError(object: kind, field: "object", reason: "is \"\(declared)\", expected \"\(kind)\"")
        }
        self.object = object
        self.kind = kind
    }

    init(bytes: some Collection<UInt8>, kind: String) throws(StripeDecodingError) {
        let value: JSONValue
        do {
            value = try JSONValue.decode(bytes)
        } catch {
            throw StripeDecodingError(object: kind, field: "(body)", reason: "is not valid JSON")
        }
        try self.init(value, kind: kind)
    }

    func missing(_ key: String, _ expected: String) -> StripeDecodingError {
        StripeDecodingError(object: kind, field: key, reason: "must be \(expected)")
    }

    func string(_ key: String) throws(StripeDecodingError) -> String {
        guard let value = object[key]?.stringValue else { throw missing(key, "a string") }
        return value
    }

    /// Nil when absent or null.
    func optionalString(_ key: String) -> String? {
        object[key]?.stringValue
    }

    func integer(_ key: String) throws(StripeDecodingError) -> Int64 {
        guard let value = object[key]?.int64Value else { throw missing(key, "an integer") }
        return value
    }

    func optionalInteger(_ key: String) -> Int64? {
        object[key]?.int64Value
    }

    /// The id of a related object, whether Stripe sent the id or the expanded object (localstripe expands
    /// `latest_charge`; `expand[]` does the same on real Stripe).
    func reference(_ key: String) -> String? {
        switch object[key] {
        case .string(let id): return id
        case .object(let expanded): return expanded["id"]?.stringValue
        default: return nil
        }
    }

    /// String-valued metadata; an absent or null metadata is empty.
    func metadata(_ key: String = "metadata") -> [String: String] {
        guard case .object(let entries) = object[key] else { return [:] }
        var metadata: [String: String] = [:]
        for entry in entries {
            if let value = entry.value.stringValue { metadata[entry.key] = value }
        }
        return metadata
    }
}
