import Foundation

/// Reads the packs file (`{"packs":[{"id","credits","price","currency","label"}]}`) and turns any mistake in it
/// into a `PackError` naming the file and the field, like `CatalogLoader` does for the catalog.
public enum PackLoader {
    static let fields: Set<String> = ["id", "credits", "price", "currency", "label"]

    /// The default packs shipped inside the binary.
    public static func builtIn() throws -> CreditPacks {
        guard let url = Bundle.module.url(forResource: "packs", withExtension: "json") else {
            throw PackError.unreadable(path: "built-in packs.json", reason: "resource missing from the build")
        }
        return try load(path: url.path)
    }

    public static func load(path: String) throws -> CreditPacks {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PackError.unreadable(path: path, reason: "cannot be read")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "packs") throws -> CreditPacks {
        let document: JSONValue
        do {
            document = try JSONValue.decode(Array(data))
        } catch {
            throw PackError.unreadable(path: path, reason: "not valid JSON: \(error)")
        }
        func invalid(_ field: String, _ reason: String) -> PackError { .invalid(path: path, field: field, reason: reason) }

        guard case .object(let root) = document else { throw invalid("(top level)", "must be an object with a \"packs\" array") }
        guard let list = root["packs"] else { throw invalid("packs", "is required") }
        guard case .array(let items) = list else { throw invalid("packs", "must be an array") }
        guard !items.isEmpty else { throw invalid("packs", "must list at least one pack") }

        var packs: [CreditPack] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let at = "packs[\(index)]"
            guard case .object(let object) = item else { throw invalid(at, "must be an object") }
            if let unknown = object.map(\.key).first(where: { !fields.contains($0) }) {
                throw invalid("\(at).\(unknown)", "is not a pack field (expected id, credits, price, currency, label)")
            }

            guard let id = object["id"]?.stringValue else { throw invalid("\(at).id", "must be a string") }
            guard isValidID(id) else { throw invalid("\(at).id", "must be 1 to 40 characters of a-z, 0-9 and -") }
            guard seen.insert(id).inserted else { throw invalid("\(at).id", "repeats the id \"\(id)\" of an earlier pack") }

            guard let credits = object["credits"]?.int64Value, credits > 0 else {
                throw invalid("\(at).credits", "must be a positive integer (whole credits)")
            }
            guard credits <= CreditPack.maximumCredits else {
                throw invalid("\(at).credits", "must be at most \(CreditPack.maximumCredits)")
            }

            guard let currency = object["currency"]?.stringValue, isValidCurrency(currency) else {
                throw invalid("\(at).currency", "must be a lower-case ISO 4217 code such as \"usd\"")
            }
            if let first = packs.first, first.currency != currency {
                throw invalid("\(at).currency", "is \"\(currency)\" but packs[0] is \"\(first.currency)\": all packs must share one currency")
            }

            guard let price = object["price"]?.int64Value, price > 0 else {
                throw invalid("\(at).price", "must be a positive integer (minor units of \(currency))")
            }
            guard price <= CreditPack.maximumPrice else {
                throw invalid("\(at).price", "must be at most \(CreditPack.maximumPrice) (minor units of \(currency))")
            }

            guard let label = object["label"]?.stringValue,
                !label.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            else { throw invalid("\(at).label", "must be a non-empty string") }

            packs.append(CreditPack(id: id, credits: credits, price: price, currency: currency, label: label))
        }
        return CreditPacks(packs: packs)
    }

    static func isValidID(_ id: String) -> Bool {
        (1...40).contains(id.utf8.count)
            && id.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "-")
            }
    }

    static func isValidCurrency(_ code: String) -> Bool {
        code.utf8.count == 3 && code.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }
}
