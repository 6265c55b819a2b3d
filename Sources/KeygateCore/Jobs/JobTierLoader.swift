import Foundation

/// Reads the tiers file (`{"tiers":[{"name","typical","min","max"}]}`, credits as JSON numbers with at most 6
/// decimals) and turns any mistake in it into a `JobTierError` naming the file and the field.
public enum JobTierLoader {
    static let fields: Set<String> = ["name", "typical", "min", "max"]

    public static func load(path: String) throws -> [JobTier] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw JobTierError(path: path, field: "(file)", reason: "cannot be read")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "tiers") throws -> [JobTier] {
        func invalid(_ field: String, _ reason: String) -> JobTierError { JobTierError(path: path, field: field, reason: reason) }
        let document: JSONValue
        do { document = try JSONValue.decode(Array(data)) } catch { throw invalid("(top level)", "is not valid JSON") }
        guard case .object(let root) = document, case .array(let items)? = root["tiers"] else {
            throw invalid("tiers", "must be an array (the file is {\"tiers\": [...]})")
        }
        var tiers: [JobTier] = []
        for (index, item) in items.enumerated() {
            let at = "tiers[\(index)]"
            guard case .object(let object) = item else { throw invalid(at, "must be an object") }
            if let unknown = object.map(\.key).first(where: { !fields.contains($0) }) {
                throw invalid("\(at).\(unknown)", "is not a tier field (expected name, typical, min, max)")
            }
            guard let name = object["name"]?.stringValue, isValidName(name) else {
                throw invalid("\(at).name", "must be 1 to 40 characters of a-z, 0-9, - and _")
            }
            guard !tiers.contains(where: { $0.name == name }) else { throw invalid("\(at).name", "repeats the tier \"\(name)\"") }
            func credits(_ field: String) throws -> MicroCredits {
                guard case .number(let text)? = object[field], let value = MicroCredits(creditsText: text), value.value > 0 else {
                    throw invalid("\(at).\(field)", "must be a positive number of credits with at most 6 decimals")
                }
                return value
            }
            let tier = JobTier(name: name, typical: try credits("typical"), minimum: try credits("min"), maximum: try credits("max"))
            guard tier.minimum <= tier.typical, tier.typical <= tier.maximum else {
                throw invalid(at, "must have min ≤ typical ≤ max")
            }
            tiers.append(tier)
        }
        return tiers
    }

    static func isValidName(_ name: String) -> Bool {
        (1...40).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            }
    }
}
