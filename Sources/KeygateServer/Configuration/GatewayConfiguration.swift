import Foundation
import KeygatePostgres
import KeygateCore
import KeygateSQLite
import KeygateStore
import Logging

public typealias SQLiteDurability = SQLiteStore.Durability

/// Everything `keygate serve` and the admin CLI read from the environment and the config file (SPEC §11).
///
/// Invariant: platform provider keys live only here, in memory; `description` never prints them.
public struct GatewayConfiguration: Sendable, CustomStringConvertible {
    public var host: String = "127.0.0.1"
    public var port: Int = 8080
    public var dataDirectory: String = "./.keygate"
    /// `sqlite:///abs/path.db`; nil means `keygate.db` in the data directory.
    public var databaseURL: String?
    /// `KEYGATE_SQLITE_SYNC`: `normal` (a commit survives a crash of the process) or `full` (also a power loss).
    public var sqliteDurability: SQLiteDurability = .normal
    /// Path of a catalog file replacing the built-in one.
    public var catalogPath: String?
    /// Platform keys by provider id (`KEYGATE_PROVIDER_<ID>_API_KEY`).
    public var platformKeys: [String: String] = [:]
    public var defaultTimeouts = UpstreamTimeouts()
    /// Per-provider overrides of `defaultTimeouts`.
    public var providerTimeouts: [String: UpstreamTimeouts] = [:]
    /// Largest request body accepted on `/v1` (`KEYGATE_MAX_BODY_BYTES`, default 20 MiB: room for images).
    public var maxBodyBytes: Int = 20 * 1024 * 1024
    /// Connections AsyncHTTPClient may open per upstream host (`KEYGATE_UPSTREAM_MAX_CONNECTIONS`).
    public var maxConnectionsPerHost: Int = 1024
    /// Fees, estimate rules and the trial policy.
    public var creditPolicy = CreditPolicy()
    /// How long a reservation may stay open before the sweeper returns it (`KEYGATE_RESERVATION_LEASE_SECONDS`).
    public var reservationLeaseSeconds: Int64 = 7200
    /// Seconds between credit sweeps (`KEYGATE_SWEEP_INTERVAL_SECONDS`).
    public var sweepIntervalSeconds: Int64 = 10
    /// A process whose heartbeat is older than this is dead (`KEYGATE_INSTANCE_DEAD_AFTER_SECONDS`); must
    /// exceed the sweep interval comfortably.
    public var instanceDeadAfterSeconds: Int64 = 60
    /// bcrypt's cost for dashboard passwords (`KEYGATE_PASSWORD_HASH_COST`, 4–31, default 12: about a quarter
    /// of a second per sign-in; each step doubles it).
    public var passwordHashCost: UInt8 = 12
    /// Stripe, the packs file and Checkout's return address.
    public var payments = PaymentSettings()
    /// Job tiers (`KEYGATE_TIERS`, a JSON file; none by default).
    public var jobTiers: [JobTier] = []
    public var jobTiersPath: String?
    /// What a failed job costs (`KEYGATE_FAILED_JOB_POLICY`: `refund`, the default, or `charge`).
    public var failedJobPolicy: FailedJobPolicy = .refund
    /// How long a graceful stop (SIGTERM, SIGINT) waits for requests and streams in flight before it cuts them
    /// (`KEYGATE_SHUTDOWN_GRACE_SECONDS`, default 30; 0 cuts at once).
    public var shutdownGraceSeconds: Int64 = 30
    /// How often every active BYOK key is re-validated with its provider's cheap call
    /// (`KEYGATE_BYOK_HEALTH_INTERVAL`: `6h` by default, `90m`, `30s`, plain seconds, or `off`); nil when off.
    public var byokHealthInterval: Duration? = .seconds(6 * 3600)
    /// Where operator events (a BYOK key the provider now refuses) are posted, signed with
    /// `operatorWebhookSecret` (`KEYGATE_OPERATOR_WEBHOOK_URL`, `KEYGATE_OPERATOR_WEBHOOK_SECRET`; optional).
    public var operatorWebhookURL: String?
    public var operatorWebhookSecret: String?
    /// `KEYGATE_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical.
    public var logLevel: String = "info"
    /// The settings in force by environment name (the environment over the config file), for the master key
    /// loader and the per-provider settings.
    public var environment: [String: String] = [:]
    /// Where the settings came from (nil when built by `fromEnvironment` alone, as tests do).
    public var sources: EffectiveSettings?

    public init() {}

    /// Reads the environment and the config file (`configFile`, else `KEYGATE_CONFIG`; none if neither), the
    /// environment winning. Throws `StartupError` naming the setting that is wrong: its file key and the file
    /// when the value came from the file, else its environment variable.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment, configFile: String? = nil
    ) async throws -> GatewayConfiguration {
        let path = configFile ?? environment["KEYGATE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var file: ConfigurationFile?
        if let path { file = try await ConfigurationFile.load(path: path) }
        let sources = EffectiveSettings.resolve(environment: environment, file: file)
        do {
            var config = try fromEnvironment(sources.values)
            config.sources = sources
            return config
        } catch let error as StartupError {
            throw sources.naming(error)
        }
    }

    /// Reads the configuration. Throws `StartupError` naming the variable that is wrong.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfiguration {
        var config = GatewayConfiguration()
        config.environment = env
        if let dir = env["KEYGATE_DATA_DIR"], !dir.isEmpty { config.dataDirectory = dir }
        if let url = env["KEYGATE_DATABASE_URL"], !url.isEmpty { config.databaseURL = url }
        if let text = env["KEYGATE_SQLITE_SYNC"], !text.isEmpty {
            guard let value = SQLiteDurability(rawValue: text) else {
                throw StartupError("KEYGATE_SQLITE_SYNC must be normal or full, got '\(text)'")
            }
            config.sqliteDurability = value
        }
        if let path = env["KEYGATE_CATALOG"], !path.isEmpty { config.catalogPath = path }
        if let level = env["KEYGATE_LOG_LEVEL"], !level.isEmpty {
            guard Logger.Level(rawValue: level) != nil else {
                throw StartupError(
                    "KEYGATE_LOG_LEVEL must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(level)'")
            }
            config.logLevel = level
        }
        if let text = env["KEYGATE_MAX_BODY_BYTES"] {
            guard let value = Int(text), value > 0 else {
                throw StartupError("KEYGATE_MAX_BODY_BYTES must be a positive number of bytes, got '\(text)'")
            }
            config.maxBodyBytes = value
        }
        if let text = env["KEYGATE_UPSTREAM_MAX_CONNECTIONS"] {
            guard let value = Int(text), value > 0 else {
                throw StartupError("KEYGATE_UPSTREAM_MAX_CONNECTIONS must be a positive integer, got '\(text)'")
            }
            config.maxConnectionsPerHost = value
        }
        if let text = env["KEYGATE_PASSWORD_HASH_COST"] {
            guard let value = UInt8(text), (4...31).contains(value) else {
                throw StartupError("KEYGATE_PASSWORD_HASH_COST must be a bcrypt cost from 4 to 31, got '\(text)'")
            }
            config.passwordHashCost = value
        }
        if let path = env["KEYGATE_TIERS"], !path.isEmpty {
            do { config.jobTiers = try JobTierLoader.load(path: path) } catch let error as JobTierError { throw StartupError(error.description) }
            config.jobTiersPath = path
        }
        if let text = env["KEYGATE_FAILED_JOB_POLICY"], !text.isEmpty {
            guard let policy = FailedJobPolicy(rawValue: text) else {
                throw StartupError("KEYGATE_FAILED_JOB_POLICY must be refund or charge, got '\(text)'")
            }
            config.failedJobPolicy = policy
        }
        config.defaultTimeouts = try UpstreamTimeouts.read(env, prefix: "KEYGATE_UPSTREAM_", base: UpstreamTimeouts())
        config.creditPolicy = try readCreditPolicy(env)
        config.payments = try PaymentSettings.read(env)
        for (name, setter) in [
            ("KEYGATE_RESERVATION_LEASE_SECONDS", { (c: inout GatewayConfiguration, v: Int64) in c.reservationLeaseSeconds = v }),
            ("KEYGATE_SWEEP_INTERVAL_SECONDS", { $0.sweepIntervalSeconds = $1 }),
            ("KEYGATE_INSTANCE_DEAD_AFTER_SECONDS", { $0.instanceDeadAfterSeconds = $1 }),
        ] {
            guard let text = env[name] else { continue }
            guard let value = Int64(text), value > 0 else { throw StartupError("\(name) must be a positive number of seconds, got '\(text)'") }
            setter(&config, value)
        }
        if let text = env["KEYGATE_SHUTDOWN_GRACE_SECONDS"] {
            guard let value = Int64(text), value >= 0 else {
                throw StartupError("KEYGATE_SHUTDOWN_GRACE_SECONDS must be a whole number of seconds (0 or more), got '\(text)'")
            }
            config.shutdownGraceSeconds = value
        }
        if let text = env["KEYGATE_BYOK_HEALTH_INTERVAL"], !text.isEmpty {
            guard let interval = parseInterval(text) else {
                throw StartupError("KEYGATE_BYOK_HEALTH_INTERVAL must be a duration like 6h, 90m or 30s (at least 1s), or off; got '\(text)'")
            }
            config.byokHealthInterval = interval
        }
        if let url = env["KEYGATE_OPERATOR_WEBHOOK_URL"], !url.isEmpty {
            guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw StartupError("KEYGATE_OPERATOR_WEBHOOK_URL must be an http:// or https:// URL")
            }
            guard let secret = env["KEYGATE_OPERATOR_WEBHOOK_SECRET"], secret.count >= 16 else {
                throw StartupError(
                    "KEYGATE_OPERATOR_WEBHOOK_URL needs KEYGATE_OPERATOR_WEBHOOK_SECRET (at least 16 characters) to sign its events")
            }
            config.operatorWebhookURL = url
            config.operatorWebhookSecret = secret
        }
        guard config.instanceDeadAfterSeconds > config.sweepIntervalSeconds else {
            throw StartupError(
                "KEYGATE_INSTANCE_DEAD_AFTER_SECONDS must be longer than KEYGATE_SWEEP_INTERVAL_SECONDS, or live processes would be taken for dead")
        }
        return config
    }

    /// `6h`, `90m`, `30s` or plain seconds; nil for `off` and for anything unreadable or under a second
    /// (the caller tells which).
    static func parseInterval(_ text: String) -> Duration?? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "off" { return .some(nil) }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(text)
        var unit: Int64 = 1
        if let last = text.last, let multiplier = units[last] {
            digits = text.dropLast()
            unit = multiplier
        }
        guard let value = Int64(digits), value > 0, value <= Int64.max / unit / 1000 else { return nil }
        return .some(.seconds(value * unit))
    }

    static func readCreditPolicy(_ env: [String: String]) throws -> CreditPolicy {
        var policy = CreditPolicy()
        func percent(_ name: String) throws -> Int64? {
            guard let text = env[name] else { return nil }
            if text == "none" { return 0 }
            // Basis points from a percentage with up to 2 decimals ("5.5" → 550), exactly.
            guard let hundredths = MicroCredits(creditsText: text).map({ $0.value / 10_000 }),
                MicroCredits(creditsText: text)!.value % 10_000 == 0, hundredths <= 10_000
            else {
                throw StartupError("\(name) must be a percentage from 0 to 100 with at most 2 decimals (e.g. 5.5), or none; got '\(text)'")
            }
            return hundredths
        }
        func credits(_ name: String) throws -> MicroCredits? {
            guard let text = env[name] else { return nil }
            guard let value = MicroCredits(creditsText: text) else {
                throw StartupError("\(name) must be a number of credits with at most 6 decimals (e.g. 0.01), got '\(text)'")
            }
            return value
        }
        func positive(_ name: String) throws -> Int64? {
            guard let text = env[name] else { return nil }
            guard let value = Int64(text), value > 0 else { throw StartupError("\(name) must be a positive integer, got '\(text)'") }
            return value
        }
        if let v = try percent("KEYGATE_PLATFORM_FEE_PERCENT") { policy.platformFeeBasisPoints = v }
        if let v = try percent("KEYGATE_BYOK_FEE_PERCENT") { policy.byokFeeBasisPoints = v }
        if let v = try positive("KEYGATE_DEFAULT_MAX_OUTPUT_TOKENS") { policy.defaultMaxOutputTokens = v }
        if let v = try credits("KEYGATE_MIN_RESERVATION_CREDITS") { policy.minimumReservation = v }
        if let v = try credits("KEYGATE_TRIAL_CREDITS") { policy.trialCredits = v }
        if let v = try positive("KEYGATE_TRIAL_DAYS") { policy.trialDays = v }
        return policy
    }

    /// Reads the per-provider settings once the catalog (and so the provider ids) is known.
    public mutating func readProviderSettings(for catalog: Catalog) throws {
        // A provider the file names must be one the catalog has: a misspelt id would leave its key unused.
        if let file = sources?.file {
            let known = Set(catalog.providers.map(\.environmentName))
            for setting in file.settings where setting.fileKey.hasPrefix("providers.") {
                let id = setting.fileKey.split(separator: ".")[1]
                guard known.contains(ProviderSpec.environmentName(of: String(id))) else {
                    throw StartupError(
                        "config file \(file.path): '\(setting.fileKey)' names provider '\(id)', which the catalog does not have (keygate catalog list shows the providers)"
                    )
                }
            }
        }
        for provider in catalog.providers {
            let prefix = "KEYGATE_PROVIDER_\(provider.environmentName)_"
            if let key = environment[prefix + "API_KEY"], !key.isEmpty {
                platformKeys[provider.id] = key.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let timeouts: UpstreamTimeouts
            do {
                timeouts = try UpstreamTimeouts.read(environment, prefix: prefix, base: defaultTimeouts)
            } catch let error as StartupError {
                throw sources?.naming(error) ?? error
            }
            if timeouts != defaultTimeouts { providerTimeouts[provider.id] = timeouts }
        }
    }

    public func timeouts(for providerID: String) -> UpstreamTimeouts {
        providerTimeouts[providerID] ?? defaultTimeouts
    }

    /// The database `KEYGATE_DATABASE_URL` names: `sqlite:///abs/path.db`, `postgres://…`, or (unset) the
    /// embedded SQLite file in the data directory. Its errors never contain a password.
    public func database() throws -> DatabaseConfiguration {
        guard let url = databaseURL else {
            return .sqlite(path: (dataDirectory as NSString).appendingPathComponent("keygate.db"))
        }
        if PostgresDatabaseURL.isPostgres(url) {
            do {
                return .postgres(try PostgresDatabaseURL(parsing: url))
            } catch let error as PostgresURLError {
                throw StartupError(error.description)
            }
        }
        guard url.hasPrefix("sqlite://") else {
            throw StartupError(
                "KEYGATE_DATABASE_URL must look like sqlite:///absolute/path.db or postgres://user:password@host:5432/database (got a URL with another scheme)"
            )
        }
        let path = String(url.dropFirst("sqlite://".count))
        guard path.hasPrefix("/"), path.count > 1, !path.hasSuffix("/") else {
            throw StartupError("KEYGATE_DATABASE_URL must name an absolute file path: sqlite:///absolute/path.db")
        }
        return .sqlite(path: path)
    }

    public var description: String {
        "GatewayConfiguration(host: \(host), port: \(port), dataDirectory: \(dataDirectory), platformKeys: \(platformKeys.keys.sorted()), payments: \(payments))"
    }
}

/// `dump()` and debuggers see the same key-free view as `description`, never the environment or the keys.
extension GatewayConfiguration: CustomReflectable, CustomDebugStringConvertible {
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "dataDirectory": dataDirectory,
                "platformKeyProviders": platformKeys.keys.sorted(), "maxBodyBytes": maxBodyBytes,
            ])
    }
    public var debugDescription: String { description }
}

/// How long Keygate waits on a provider.
public struct UpstreamTimeouts: Sendable, Equatable {
    /// Establishing the TCP/TLS connection.
    public var connect: Duration = .seconds(10)
    /// From sending the request to the response head (for a non-streaming call: the whole generation).
    public var firstByte: Duration = .seconds(600)
    /// Longest silence between two chunks of a response body.
    public var idle: Duration = .seconds(300)

    public init() {}

    static func read(_ env: [String: String], prefix: String, base: UpstreamTimeouts) throws -> UpstreamTimeouts {
        var result = base
        func seconds(_ name: String) throws -> Duration? {
            guard let text = env[prefix + name] else { return nil }
            guard let value = Double(text), value > 0, value.isFinite else {
                throw StartupError("\(prefix + name) must be a positive number of seconds, got '\(text)'")
            }
            return .milliseconds(Int64((value * 1000).rounded(.up)))
        }
        if let v = try seconds("CONNECT_TIMEOUT") { result.connect = v }
        if let v = try seconds("FIRST_BYTE_TIMEOUT") { result.firstByte = v }
        if let v = try seconds("IDLE_TIMEOUT") { result.idle = v }
        return result
    }
}

/// A reason `keygate` cannot start, printed as one line.
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
