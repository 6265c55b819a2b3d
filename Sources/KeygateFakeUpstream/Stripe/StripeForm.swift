import Foundation

/// A Stripe request's parameters: the form-encoded pairs as sent, and the tree Stripe builds from their
/// bracketed names (`a[b][c]=…` nests hashes, `x[0][k]=…` and `x[]=…` make arrays, kept as hashes with
/// integer keys). An empty value means "unset", as Stripe reads it.
struct StripeForm: Sendable {
    indirect enum Node: Sendable {
        case value(String)
        case hash([(key: String, node: Node)])

        subscript(key: String) -> Node? {
            guard case .hash(let fields) = self else { return nil }
            return fields.last { $0.key == key }?.node
        }

        /// The elements of an array parameter, by index (nil when some key is not an integer).
        var elements: [Node]? {
            guard case .hash(let fields) = self else { return nil }
            let indexed = fields.compactMap { field in Int(field.key).map { ($0, field.node) } }
            guard indexed.count == fields.count else { return nil }
            return indexed.sorted { $0.0 < $1.0 }.map(\.1)
        }

        var text: String? { if case .value(let text) = self, !text.isEmpty { text } else { nil } }
    }

    let pairs: [(key: String, value: String)]
    let root: Node

    /// Parses `application/x-www-form-urlencoded` bytes (a body, or a query string).
    static func parse(_ bytes: [UInt8]) throws(StripeAnswer) -> StripeForm {
        let text = String(decoding: bytes, as: UTF8.self)
        var pairs: [(key: String, value: String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let halves = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            pairs.append((key: decode(halves[0]), value: halves.count > 1 ? decode(halves[1]) : ""))
        }
        var root = Node.hash([])
        for pair in pairs {
            let path = try segments(of: pair.key)
            try insert(pair.value, at: path[...], into: &root, name: path[0])
        }
        return StripeForm(pairs: pairs, root: root)
    }

    /// Percent-decoding with `+` as a space, as form encoding has it.
    static func decode(_ text: String) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// `a[b][0]` → `["a", "b", "0"]`; `x[]` → `["x", ""]` (append).
    private static func segments(of key: String) throws(StripeAnswer) -> [String] {
        guard let open = key.firstIndex(of: "[") else { return [key] }
        var result = [String(key[..<open])]
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw StripeAnswer.invalidRequest("Invalid parameter name: \(key)", param: key)
            }
            result.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        guard !result[0].isEmpty else { throw StripeAnswer.invalidRequest("Invalid parameter name: \(key)", param: key) }
        return result
    }

    private static func insert(_ value: String, at path: ArraySlice<String>, into node: inout Node, name: String) throws(StripeAnswer) {
        guard case .hash(var fields) = node else {
            throw StripeAnswer.invalidRequest("Invalid value for \(name): a string cannot also be a hash", param: name)
        }
        let key = path.first! == "" ? String(fields.count) : path.first!
        let index = fields.firstIndex { $0.key == key }
        if path.count == 1 {
            if let index {
                // The same name twice: the last value wins, as Stripe takes it; a hash cannot become a value.
                guard case .value = fields[index].node else {
                    throw StripeAnswer.invalidRequest("Invalid value for \(name): a hash cannot also be a string", param: name)
                }
                fields[index].node = .value(value)
            } else {
                fields.append((key: key, node: .value(value)))
            }
        } else {
            var child = index.map { fields[$0].node } ?? .hash([])
            try insert(value, at: path.dropFirst(), into: &child, name: name + "[\(path[path.index(after: path.startIndex)])]")
            if let index { fields[index].node = child } else { fields.append((key: key, node: child)) }
        }
        node = .hash(fields)
    }
}
