import Configuration
import Foundation
import SystemPackage
import Yams

/// A config file (`keygate serve --config F`, `KEYGATE_CONFIG`): YAML whose keys are the file keys of
/// `ConfigurationSetting`, read through swift-configuration's `FileProvider<YAMLSnapshot>`.
///
/// Checked whole before any value is used: every key must name a setting (a misspelt key would otherwise be
/// ignored in silence), and each setting takes one value, not a list or a mapping. Errors give the file and the
/// key and never quote the file's text, which may hold secrets.
public struct ConfigurationFile: Sendable {
    public let path: String
    /// The settings the file gives a value, in the file's order.
    public let settings: [ConfigurationSetting]
    /// Nil for a file that sets nothing (empty, or only comments).
    let provider: FileProvider<YAMLSnapshot>?

    public static func load(path: String) async throws -> ConfigurationFile {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StartupError("config file \(path): not found")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StartupError("config file \(path): cannot be read by this user")
        }
        let leaves = try Self.leaves(of: data, path: path)
        var settings: [ConfigurationSetting] = []
        for key in leaves {
            guard let setting = ConfigurationSetting.named(fileKey: key) else {
                throw StartupError(
                    "config file \(path): unknown setting '\(key)' (keygate config check lists them; docs/OPERATIONS.md has a sample file)")
            }
            settings.append(setting)
        }
        guard !settings.isEmpty else { return ConfigurationFile(path: path, settings: [], provider: nil) }
        let secretKeys = Set(settings.filter { $0.secrecy != .plain }.map(\.fileKey))
        let provider: FileProvider<YAMLSnapshot>
        do {
            provider = try await FileProvider<YAMLSnapshot>(
                parsingOptions: .init(secretsSpecifier: .specific(secretKeys)), filePath: FilePath(path))
        } catch {
            throw StartupError("config file \(path): cannot be read as YAML")
        }
        return ConfigurationFile(path: path, settings: settings, provider: provider)
    }

    /// The dotted paths of the file's values. An empty file (or one of comments) has none; a key with no value
    /// (`trial:` alone, YAML's null) sets nothing.
    static func leaves(of data: Data, path: String) throws -> [String] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: String(decoding: data, as: UTF8.self))
        } catch let error as YamlError {
            throw StartupError("config file \(path): not valid YAML\(Self.position(of: error))")
        }
        guard let root else { return [] }
        guard let mapping = root.mapping else {
            throw StartupError("config file \(path): must be a mapping of settings (key: value), such as `log_level: info`")
        }
        var leaves: [String] = []
        try collect(mapping, prefix: [], into: &leaves, path: path)
        return leaves
    }

    private static func collect(_ mapping: Node.Mapping, prefix: [String], into leaves: inout [String], path: String) throws {
        for (keyNode, value) in mapping {
            guard let name = keyNode.scalar?.string, !name.isEmpty, !name.contains(".") else {
                throw StartupError("config file \(path): a key under '\(prefix.joined(separator: "."))' is not a plain name")
            }
            let key = prefix + [name]
            let dotted = key.joined(separator: ".")
            switch value {
            case .mapping(let nested): try collect(nested, prefix: key, into: &leaves, path: path)
            case .scalar(let scalar):
                if scalar.tag.description == Tag.Name.null.rawValue || (scalar.style == .plain && ["", "~", "null"].contains(scalar.string)) {
                    continue
                }
                leaves.append(dotted)
            case .sequence:
                guard ConfigurationSetting.named(fileKey: dotted) != nil else {
                    throw StartupError("config file \(path): unknown setting '\(dotted)' (keygate config check lists them)")
                }
                throw StartupError("config file \(path): '\(dotted)' takes one value, not a list")
            case .alias:
                throw StartupError("config file \(path): '\(dotted)' is a YAML alias; write the value itself")
            }
        }
    }

    /// ` at line L, column C: problem`, from the parser's error without the text around it.
    private static func position(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return " at line \(mark.line), column \(mark.column): \(problem)"
        case .composer(_, let problem, let mark, _):
            return " at line \(mark.line), column \(mark.column): \(problem)"
        default:
            return ""
        }
    }
}
