import Configuration

/// The settings in force: the environment, with the config file's values for what the environment leaves
/// unset, keyed by environment name, so `GatewayConfiguration.fromEnvironment` parses both the same way.
///
/// The layering is swift-configuration's: a `ConfigReader` asks the environment first, then the file. An
/// empty environment variable counts as unset (it does not hide the file's value).
public struct EffectiveSettings: Sendable {
    public let values: [String: String]
    /// Where each value set by either came from; absent: the default.
    public let origins: [String: Origin]
    public let file: ConfigurationFile?
    /// The process's environment, as given (a reload reads the file again, never a changed environment).
    public let environment: [String: String]

    public enum Origin: Sendable, Equatable {
        case environment
        /// The environment's value won over the file's.
        case environmentOverFile
        case file
    }

    public static func resolve(environment: [String: String], file: ConfigurationFile?) -> EffectiveSettings {
        var values = environment
        var origins: [String: Origin] = [:]
        for (name, value) in environment where name.hasPrefix("KEYGATE_") && !value.isEmpty { origins[name] = .environment }
        guard let file, let fileProvider = file.provider else {
            return EffectiveSettings(values: values, origins: origins, file: file, environment: environment)
        }

        let byFileKey = Dictionary(file.settings.map { ($0.fileKey, $0.environmentName) }, uniquingKeysWith: { first, _ in first })
        let named = Set(byFileKey.values)
        let secrets = Set(file.settings.filter { $0.secrecy != .plain }.map(\.environmentName))
        let fromEnvironment = EnvironmentVariablesProvider(
            environmentVariables: environment.filter { named.contains($0.key) && !$0.value.isEmpty },
            secretsSpecifier: .specific(secrets)
        ).mapKeys { key in
            AbsoluteConfigKey([byFileKey[key.components.joined(separator: ".")] ?? "KEYGATE_UNKNOWN_" + key.components.joined(separator: "_")])
        }
        let reader = ConfigReader(providers: [fromEnvironment, fileProvider])
        for setting in file.settings {
            guard let value = reader.string(forKey: ConfigKey(setting.fileKey), isSecret: setting.secrecy != .plain) else { continue }
            values[setting.environmentName] = value
            if origins[setting.environmentName] == .environment {
                origins[setting.environmentName] = .environmentOverFile
            } else {
                origins[setting.environmentName] = .file
            }
        }
        return EffectiveSettings(values: values, origins: origins, file: file, environment: environment)
    }

    /// `error` with each environment name whose value came from the file replaced by the file key, so the
    /// operator is pointed at the line to fix: `credits.platform_fee_percent (in /etc/keygate.yaml) must be…`.
    func naming(_ error: StartupError) -> StartupError {
        guard let file else { return error }
        var text = error.description
        for setting in file.settings.sorted(by: { $0.environmentName.count > $1.environmentName.count })
        where origins[setting.environmentName] == .file {
            text = Self.replacingWord(setting.environmentName, with: "\(setting.fileKey) (in \(file.path))", in: text)
        }
        return StartupError(text)
    }

    /// Replaces `word` where it is not part of a longer name (`KEYGATE_MASTER_KEY` is not in `KEYGATE_MASTER_KEY_FILE`).
    static func replacingWord(_ word: String, with replacement: String, in text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = rest.range(of: word) {
            let next = rest[range.upperBound...].first
            let before = range.lowerBound == rest.startIndex ? result.last : rest[rest.index(before: range.lowerBound)]
            let isName: (Character?) -> Bool = { $0.map { $0.isUppercase || $0.isNumber || $0 == "_" } ?? false }
            result += rest[..<range.lowerBound]
            result += isName(next) || isName(before) ? word : replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
