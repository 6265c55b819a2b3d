import Foundation

/// Reads a catalog file and turns any mistake in it into a `CatalogError` that names the line or field.
public enum CatalogLoader {
    struct File: Decodable {
        var providers: [ProviderSpec]
        var models: [ModelSpec]
    }

    /// The catalog shipped inside the binary.
    public static func builtIn() throws -> Catalog {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json") else {
            throw CatalogError.unreadable(path: "built-in catalog.json", reason: "resource missing from the build")
        }
        return try load(path: url.path)
    }

    public static func load(path: String) throws -> Catalog {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CatalogError.unreadable(path: path, reason: "cannot be read")
        }
        return try parse(data, path: path)
    }

    public static func parse(_ data: Data, path: String = "catalog") throws -> Catalog {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, data: data, path: path)
        } catch {
            throw CatalogError.unreadable(path: path, reason: "\(error)")
        }
        return try Catalog(providers: file.providers, models: file.models)
    }

    /// Applies `KEYGATE_PROVIDER_<ID>_BASE_URL` overrides.
    public static func applyingBaseURLOverrides(_ catalog: Catalog, environment: [String: String]) throws -> Catalog {
        let providers = catalog.providers.map { provider -> ProviderSpec in
            var provider = provider
            if let url = environment["KEYGATE_PROVIDER_\(provider.environmentName)_BASE_URL"], !url.isEmpty {
                provider.baseURL = url
            }
            return provider
        }
        return try Catalog(providers: providers, models: catalog.models)
    }

    static func describe(_ error: DecodingError, data: Data, path: String) -> CatalogError {
        func fieldPath(_ codingPath: [CodingKey]) -> String {
            codingPath.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = fieldPath(context.codingPath)
            return .invalid(field: parent.isEmpty ? key.stringValue : parent + "." + key.stringValue, reason: "is required")
        case .typeMismatch(let type, let context):
            return .invalid(field: fieldPath(context.codingPath), reason: "expected \(typeDescription(type))")
        case .valueNotFound(let type, let context):
            return .invalid(field: fieldPath(context.codingPath), reason: "expected \(typeDescription(type)), found null")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return .unreadable(path: path, reason: "not valid JSON: \(syntaxErrorLocation(data) ?? context.debugDescription)")
            }
            return .invalid(field: fieldPath(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .unreadable(path: path, reason: "\(error)")
        }
    }

    /// "line L, column C: reason" of the first syntax error. JSONSerialization reports a character offset;
    /// an operator editing the file needs the line.
    static func syntaxErrorLocation(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
            return nil
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            guard let range = detail.range(of: "character "),
                let offset = Int(detail[range.upperBound...].prefix(while: \.isNumber))
            else { return detail }
            var line = 1, column = 1
            for byte in data.prefix(offset) {
                if byte == UInt8(ascii: "\n") { line += 1; column = 1 } else { column += 1 }
            }
            return "line \(line), column \(column): \(detail)"
        }
    }

    static func typeDescription(_ type: Any.Type) -> String {
        switch type {
        case is MicroUSD.Type, is Int64.Type, is Int.Type: return "an integer"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default: return "\(type)"
        }
    }
}
