/// The shape of a parameter the fake Stripe accepts; `check` rejects what Stripe rejects for the calls
/// Keygate makes: unknown names (at any depth), values of the wrong type, arrays that are not arrays.
indirect enum StripeParam: Sendable {
    case string
    case integer
    case boolean
    case oneOf([String])
    /// `metadata[k]=v`: string values, keys up to 40 characters, values up to 500, at most 50 keys.
    case metadata
    case array(StripeParam)
    case hash([(name: String, param: StripeParam)])

    /// Checks a request's top-level parameters against `accepted`.
    static func check(_ root: StripeForm.Node, accepted: [(name: String, param: StripeParam)]) throws(StripeAnswer) {
        try StripeParam.hash(accepted).check(root, name: nil)
    }

    private func check(_ node: StripeForm.Node, name: String?) throws(StripeAnswer) {
        let shown = name ?? ""
        switch (self, node) {
        case (.hash(let accepted), .hash(let fields)):
            for field in fields {
                let child = name.map { "\($0)[\(field.key)]" } ?? field.key
                guard let param = accepted.first(where: { $0.name == field.key })?.param else {
                    throw StripeAnswer.invalidRequest("Received unknown parameter: \(child)", param: child, code: "parameter_unknown")
                }
                try param.check(field.node, name: child)
            }
        case (.array(let element), .hash):
            guard let elements = node.elements else { throw StripeAnswer.invalidRequest("Invalid array", param: shown) }
            for (index, child) in elements.enumerated() {
                try element.check(child, name: "\(shown)[\(index)]")
            }
        case (.metadata, .hash(let fields)):
            guard fields.count <= 50 else {
                throw StripeAnswer.invalidRequest("You can specify up to 50 keys in \(shown).", param: shown)
            }
            for field in fields {
                guard case .value(let value) = field.node else {
                    throw StripeAnswer.invalidRequest("Invalid value type: \(shown)[\(field.key)] must be a string", param: "\(shown)[\(field.key)]")
                }
                guard field.key.count <= 40, value.count <= 500 else {
                    throw StripeAnswer.invalidRequest(
                        "Metadata keys can have up to 40 characters and values up to 500 characters.", param: "\(shown)[\(field.key)]")
                }
            }
        case (.hash, .value(let value)), (.metadata, .value(let value)), (.array, .value(let value)):
            // An empty string unsets a hash, as Stripe allows (`metadata=`).
            guard value.isEmpty else { throw StripeAnswer.invalidRequest("Invalid object", param: shown) }
        case (.string, .value), (.oneOf, .value("")), (.integer, .value("")), (.boolean, .value("")):
            break
        case (.integer, .value(let value)):
            guard Int(value) != nil else {
                throw StripeAnswer.invalidRequest("Invalid integer: \(value)", param: shown, code: "parameter_invalid_integer")
            }
        case (.boolean, .value(let value)):
            guard value == "true" || value == "false" else { throw StripeAnswer.invalidRequest("Invalid boolean: \(value)", param: shown) }
        case (.oneOf(let allowed), .value(let value)):
            guard allowed.contains(value) else {
                let list = allowed.count > 1 ? allowed.dropLast().joined(separator: ", ") + ", or " + allowed.last! : allowed.joined()
                throw StripeAnswer.invalidRequest("Invalid \(shown): must be one of \(list)", param: shown)
            }
        case (.string, .hash), (.integer, .hash), (.boolean, .hash), (.oneOf, .hash):
            throw StripeAnswer.invalidRequest("Invalid string: a hash was given for \(shown)", param: shown)
        }
    }
}
