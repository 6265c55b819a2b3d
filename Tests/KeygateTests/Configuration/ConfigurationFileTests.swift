import Foundation
import KeygateCore
@testable import KeygateServer
import Testing

/// The config file (`keygate serve --config`, `KEYGATE_CONFIG`): what it sets, the environment over it, the
/// errors naming the setting, and `keygate config check`'s report with every secret redacted.
@Suite struct ConfigurationFileTests {
    static func file(_ text: String, mode: Int = 0o600) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-config-\(UUID().uuidString).yaml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    static let sample = """
        # A sample: every group once.
        data_dir: /tmp/keygate-config-test
        log_level: debug
        credits:
          platform_fee_percent: 5.5
          byok_fee_percent: "2"
          min_reservation_credits: 0.05
        trial:
          credits: 10
          days: 30
        jobs:
          failed_job_policy: charge
        stripe:
          secret_key: sk_test_FROMFILE0123456789
          webhook_secret: whsec_FROMFILE0123456789
        database:
          url: postgres://keygate:PGPASSWORD-FROMFILE@127.0.0.1:5432/keygate
        metrics:
          token: METRICS-TOKEN-FROMFILE
        providers:
          openai:
            api_key: sk-openai-FROMFILE-0123456789
            base_url: http://127.0.0.1:9/v1
          azure-responses:
            first_byte_timeout: 5
        shutdown:
          grace_seconds:   # null: sets nothing
        """

    static let secrets = [
        "sk_test_FROMFILE0123456789", "whsec_FROMFILE0123456789", "PGPASSWORD-FROMFILE", "METRICS-TOKEN-FROMFILE", "sk-openai-FROMFILE-0123456789",
    ]

    @Test func theFileAloneConfiguresEverySetting() async throws {
        let path = try Self.file(Self.sample)
        var config = try await GatewayConfiguration.load(environment: [:], configFile: path)
        #expect(config.dataDirectory == "/tmp/keygate-config-test")
        #expect(config.logLevel == "debug")
        #expect(config.creditPolicy.platformFeeBasisPoints == 550 && config.creditPolicy.byokFeeBasisPoints == 200)
        #expect(config.creditPolicy.minimumReservation == MicroCredits(50_000))
        #expect(config.creditPolicy.trialCredits == .credits(10) && config.creditPolicy.trialDays == 30)
        #expect(config.failedJobPolicy == .charge)
        #expect(config.payments.secretKey == "sk_test_FROMFILE0123456789" && config.payments.webhookSecret == "whsec_FROMFILE0123456789")
        #expect(config.shutdownGraceSeconds == 30, "a key with no value sets nothing")
        guard case .postgres = try config.database() else {
            Issue.record("the file's database URL was not used")
            return
        }
        let catalog = try Bootstrap.loadCatalog(config)
        try config.readProviderSettings(for: catalog)
        #expect(config.platformKeys["openai"] == "sk-openai-FROMFILE-0123456789")
        #expect(catalog.provider(named: "openai")?.baseURL == "http://127.0.0.1:9/v1")
        #expect(config.timeouts(for: "azure-responses").firstByte == .seconds(5))
        #expect(config.sources?.origins["KEYGATE_PLATFORM_FEE_PERCENT"] == .file)
    }

    @Test func keygateConfigNamesTheFileWhenTheFlagDoesNot() async throws {
        let path = try Self.file("trial:\n  credits: 7\n")
        let config = try await GatewayConfiguration.load(environment: ["KEYGATE_CONFIG": path])
        #expect(config.creditPolicy.trialCredits == .credits(7))
        #expect(config.sources?.file?.path == path)
        // The flag wins over the variable.
        let other = try Self.file("trial:\n  credits: 9\n")
        let flagged = try await GatewayConfiguration.load(environment: ["KEYGATE_CONFIG": path], configFile: other)
        #expect(flagged.creditPolicy.trialCredits == .credits(9))
        // No file at all: the environment alone, as before.
        let plain = try await GatewayConfiguration.load(environment: ["KEYGATE_TRIAL_CREDITS": "3"])
        #expect(plain.creditPolicy.trialCredits == .credits(3) && plain.sources?.file == nil)
    }

    @Test func theEnvironmentWinsOverTheFile() async throws {
        let path = try Self.file(Self.sample)
        let config = try await GatewayConfiguration.load(
            environment: ["KEYGATE_PLATFORM_FEE_PERCENT": "1", "KEYGATE_TRIAL_DAYS": "", "KEYGATE_LOG_LEVEL": "warning"], configFile: path)
        #expect(config.creditPolicy.platformFeeBasisPoints == 100)
        #expect(config.logLevel == "warning")
        #expect(config.sources?.origins["KEYGATE_PLATFORM_FEE_PERCENT"] == .environmentOverFile)
        // An empty variable is unset: it does not hide the file's value.
        #expect(config.creditPolicy.trialDays == 30)
        #expect(config.creditPolicy.byokFeeBasisPoints == 200, "what the environment leaves unset comes from the file")
    }

    @Test func aBadValueIsNamedWhereItWasSet() async throws {
        func failure(_ text: String, environment: [String: String] = [:]) async throws -> String {
            let path = try Self.file(text)
            do {
                var config = try await GatewayConfiguration.load(environment: environment, configFile: path)
                try config.readProviderSettings(for: try Bootstrap.loadCatalog(config))
                return "no error"
            } catch let error as StartupError {
                return error.description.replacingOccurrences(of: path, with: "FILE")
            }
        }
        #expect(
            try await failure("credits:\n  platform_fee_percent: lots\n")
                == "credits.platform_fee_percent (in FILE) must be a percentage from 0 to 100 with at most 2 decimals (e.g. 5.5), or none; got 'lots'"
        )
        #expect(
            try await failure("credits:\n  platform_fee_percent: 5\n", environment: ["KEYGATE_PLATFORM_FEE_PERCENT": "nope"])
                .hasPrefix("KEYGATE_PLATFORM_FEE_PERCENT must be a percentage"))
        #expect(try await failure("log_level: loud\n").hasPrefix("log_level (in FILE) must be one of trace, debug"))
        #expect(try await failure("credits:\n  platfrom_fee_percent: 5\n").contains("unknown setting 'credits.platfrom_fee_percent'"))
        #expect(try await failure("trial:\n  credits: [1, 2]\n") == "config file FILE: 'trial.credits' takes one value, not a list")
        #expect(try await failure("providers:\n  opnai:\n    api_key: sk-1\n").contains("names provider 'opnai', which the catalog does not have"))
        #expect(try await failure("providers:\n  openai:\n    colour: blue\n").contains("unknown setting 'providers.openai.colour'"))
        #expect(try await failure("providers:\n  openai:\n    connect_timeout: -1\n").hasPrefix("providers.openai.connect_timeout (in FILE) must be"))
        #expect(try await failure("- just\n- a list\n").contains("must be a mapping of settings"))
        // A broken file is reported by position, never by quoting it: the line may hold a secret.
        let broken = try await failure("stripe:\n  secret_key: \"sk_live_SECRETLINE\n  other: [\n")
        #expect(broken.hasPrefix("config file FILE: not valid YAML at line"), "\(broken)")
        #expect(!broken.contains("SECRETLINE"))
        // An empty file (or one of comments) sets nothing, and is fine.
        #expect(try await failure("# nothing yet\n") == "no error")
        do {
            _ = try await GatewayConfiguration.load(environment: [:], configFile: "/nonexistent/keygate.yaml")
            Issue.record("a missing file was accepted")
        } catch let error as StartupError {
            #expect(error.description == "config file /nonexistent/keygate.yaml: not found")
        }
    }

    @Test func configCheckPrintsTheEffectiveConfigurationWithEverySecretRedacted() async throws {
        let path = try Self.file(Self.sample, mode: 0o644)
        let environment = ["KEYGATE_PROVIDER_GROQ_API_KEY": "gsk_ENVIRONMENT-SECRET-0123", "KEYGATE_TRIAL_CREDITS": "3"]
        let report = try ConfigurationReport.check(try await GatewayConfiguration.load(environment: environment, configFile: path))
        let text = report.text
        let json = String(decoding: report.json.encoded(), as: UTF8.self)
        for secret in Self.secrets + ["gsk_ENVIRONMENT-SECRET-0123"] {
            #expect(!text.contains(secret) && !json.contains(secret), "\(secret) leaked")
        }
        func row(_ key: String) -> ConfigurationReport.Row? { report.rows.first { $0.fileKey == key } }
        #expect(row("stripe.secret_key")?.value == "<redacted>" && row("stripe.secret_key")?.source == "file")
        #expect(row("database.url")?.value == "postgres://keygate:<redacted>@127.0.0.1:5432/keygate")
        #expect(row("providers.openai.api_key")?.value == "<redacted>")
        #expect(row("providers.groq.api_key")?.value == "<redacted>" && row("providers.groq.api_key")?.source == "environment")
        #expect(row("providers.openai.base_url")?.value == "http://127.0.0.1:9/v1")
        #expect(row("credits.platform_fee_percent")?.value == "5.5" && row("credits.platform_fee_percent")?.change == "reloads on SIGHUP")
        #expect(row("trial.credits")?.value == "3" && row("trial.credits")?.source == "environment (over the file)")
        #expect(row("limits.max_body_bytes")?.value == "20971520" && row("limits.max_body_bytes")?.source == "default")
        #expect(row("limits.max_body_bytes")?.change == "needs a restart")
        #expect(row("metrics.token")?.value == "<redacted>")
        // Every setting of the environment's table is listed.
        #expect(Set(report.rows.map(\.environmentName)).isSuperset(of: ConfigurationSetting.known.map(\.environmentName)))
        // Secrets in a file others can read: said.
        #expect(report.warnings.count == 1 && report.warnings[0].contains("chmod 600"))
        let privateFile = try Self.file(Self.sample, mode: 0o600)
        #expect(try ConfigurationReport.check(try await GatewayConfiguration.load(environment: [:], configFile: privateFile)).warnings.isEmpty)
    }

    /// What `config check` shows as a default can be written back as the value: it is the value in force, in
    /// the setting's own form, never a stale copy of the default.
    @Test func everyDefaultShownIsAValueTheSettingTakes() async throws {
        let defaults = try await GatewayConfiguration.load(environment: [:])
        let report = try ConfigurationReport.check(defaults)
        let descriptive = ["unset", "built-in", "none", "sqlite (keygate.db in data_dir)", "unset: the development key in data_dir"]
        var checked = 0
        for row in report.rows where row.source == "default" && !descriptive.contains(row.value) {
            let again = try GatewayConfiguration.fromEnvironment([row.environmentName: row.value])
            let shown = try ConfigurationReport.check(again).rows.first { $0.environmentName == row.environmentName }?.value
            #expect(shown == row.value, "\(row.fileKey): \(row.value) read back as \(shown ?? "nothing")")
            checked += 1
        }
        #expect(checked >= 25)
    }

    @Test func environmentNamesAreReplacedOnlyWhole() {
        #expect(
            EffectiveSettings.replacingWord("KEYGATE_MASTER_KEY", with: "master_key", in: "KEYGATE_MASTER_KEY_FILE and KEYGATE_MASTER_KEY.")
                == "KEYGATE_MASTER_KEY_FILE and master_key.")
    }
}
