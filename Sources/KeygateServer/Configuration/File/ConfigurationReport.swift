import Foundation
import KeygateCore
import KeygateVault

/// What `keygate config check` prints: every setting with the value in force (secrets redacted), where it came
/// from and when a change applies, after checking everything `keygate serve` would check before opening the
/// database: each value, the catalog, packs and tiers files, the master key, the provider names in the file.
public struct ConfigurationReport: Sendable {
    public struct Row: Sendable, Equatable {
        public var fileKey: String
        public var environmentName: String
        /// Redacted when secret; `unset` when neither source sets it and it has no default.
        public var value: String
        /// `environment`, `environment (over the file)`, `file` or `default`.
        public var source: String
        public var change: String
    }

    public let configFile: String?
    public let rows: [Row]
    public let warnings: [String]

    /// Throws `StartupError` naming the first setting that is wrong.
    public static func check(_ config: GatewayConfiguration) throws -> ConfigurationReport {
        var config = config
        let catalog = try Bootstrap.loadCatalog(config)
        try config.readProviderSettings(for: catalog)
        _ = try Bootstrap.loadPacks(config)
        _ = try config.database()
        let values = config.environment
        let sources = config.sources
        if !(values["KEYGATE_MASTER_KEY"] ?? "").isEmpty || !(values["KEYGATE_MASTER_KEY_FILE"] ?? "").isEmpty {
            do {
                _ = try MasterKeyring.load(environment: values, dataDirectory: config.dataDirectory)
            } catch let error as MasterKeyError {
                let error = StartupError(error.description)
                throw sources?.naming(error) ?? error
            }
        }

        var settings = ConfigurationSetting.known
        let providerNames = values.keys.filter { $0.hasPrefix("KEYGATE_PROVIDER_") && !(values[$0] ?? "").isEmpty }.sorted()
        settings += providerNames.compactMap { name in
            let fromFile = sources?.file?.settings.first { $0.environmentName == name }
            return fromFile ?? ConfigurationSetting.named(environmentName: name)
        }
        let rows = settings.map { setting -> Row in
            let raw = values[setting.environmentName].flatMap { $0.isEmpty ? nil : $0 }
            // A default is never a secret (the closures print "set", never a value), so it is shown as it is.
            let value = raw.map(setting.shown) ?? setting.effectiveValue(config) ?? "unset"
            let source: String
            switch sources?.origins[setting.environmentName] {
            case .environment: source = "environment"
            case .environmentOverFile: source = "environment (over the file)"
            case .file: source = "file"
            case nil: source = raw == nil ? "default" : "environment"
            }
            return Row(
                fileKey: setting.fileKey, environmentName: setting.environmentName, value: value, source: source,
                change: setting.change == .reload ? "reloads on SIGHUP" : "needs a restart")
        }
        return ConfigurationReport(configFile: sources?.file?.path, rows: rows, warnings: warnings(sources))
    }

    /// A file holding secrets that others can read is one `cat` from leaking them.
    static func warnings(_ sources: EffectiveSettings?) -> [String] {
        guard let file = sources?.file else { return [] }
        let secrets = file.settings.filter { $0.secrecy == .secret }.map(\.fileKey)
        guard !secrets.isEmpty, let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0
        else { return [] }
        return [
            "\(file.path) holds secrets (\(secrets.joined(separator: ", "))) and other users may read it (mode \(String(mode, radix: 8))): chmod 600 it, or move the secrets to the environment"
        ]
    }

    /// Aligned columns for a terminal.
    public var text: String {
        var lines = ["config file: \(configFile ?? "none (environment only)")"]
        let header = Row(fileKey: "SETTING", environmentName: "ENVIRONMENT", value: "VALUE", source: "FROM", change: "CHANGE")
        let all = [header] + rows
        let widths = [all.map(\.fileKey.count).max()!, all.map(\.environmentName.count).max()!, min(48, all.map(\.value.count).max()!)]
        for row in all {
            let cells = [row.fileKey, row.environmentName, row.value]
            let padded = zip(cells, widths).map { $0.padding(toLength: max($1, $0.count), withPad: " ", startingAt: 0) }
            lines.append((padded + [row.source.padding(toLength: 28, withPad: " ", startingAt: 0), row.change]).joined(separator: "  "))
        }
        lines += warnings.map { "warning: " + $0 }
        return lines.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            "config_file": configFile.map(JSONValue.string) ?? .null,
            "settings": .array(
                rows.map {
                    .object([
                        "key": .string($0.fileKey), "environment": .string($0.environmentName), "value": .string($0.value),
                        "from": .string($0.source), "change": .string($0.change),
                    ])
                }),
            "warnings": .array(warnings.map(JSONValue.string)),
        ])
    }
}
