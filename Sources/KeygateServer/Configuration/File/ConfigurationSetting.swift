/// One setting Keygate reads, under its two names: the key in the config file (`credits.platform_fee_percent`)
/// and the environment variable (`KEYGATE_PLATFORM_FEE_PERCENT`, SPEC §11). The environment wins.
public struct ConfigurationSetting: Sendable {
    /// Dotted path in the YAML file.
    public let fileKey: String
    public let environmentName: String
    public let secrecy: Secrecy
    public let change: ChangeRule
    /// The value in force, defaults applied, as `config check` prints it (nil: unset, no default). Reads the
    /// parsed configuration, so what it shows is what the gateway uses, never a copy of the default.
    let effectiveValue: @Sendable (GatewayConfiguration) -> String?

    /// How a value may be shown.
    public enum Secrecy: Sendable {
        case plain
        /// Never shown: `config check` prints that it is set.
        case secret
        /// A URL whose password is replaced (`postgres://keygate:<redacted>@db:5432/keygate`).
        case urlWithPassword
    }

    /// When a changed value takes effect.
    public enum ChangeRule: String, Sendable {
        /// On SIGHUP, for the next request.
        case reload = "SIGHUP"
        /// After a restart (a SIGHUP logs that it changed and is not applied).
        case restart
    }

    init(
        _ fileKey: String, _ environmentName: String, _ secrecy: Secrecy = .plain, _ change: ChangeRule = .restart,
        effective: @escaping @Sendable (GatewayConfiguration) -> String?
    ) {
        self.fileKey = fileKey
        self.environmentName = environmentName
        self.secrecy = secrecy
        self.change = change
        self.effectiveValue = effective
    }

    /// What `config check` prints for `value`.
    public func shown(_ value: String) -> String {
        switch secrecy {
        case .plain: return value
        case .secret: return "<redacted>"
        case .urlWithPassword: return Self.redactingPassword(value)
        }
    }

    /// `scheme://user:secret@host/…` → `scheme://user:<redacted>@host/…`; anything unparseable is redacted whole.
    static func redactingPassword(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return "<redacted>" }
        let rest = url[schemeEnd.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let userInfo = rest[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<schemeEnd.upperBound]) + userInfo[..<colon] + ":<redacted>" + rest[at...]
    }
}
