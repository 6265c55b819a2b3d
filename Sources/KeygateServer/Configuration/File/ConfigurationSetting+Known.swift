import KeygateCore

extension ConfigurationSetting {
    /// Every setting besides the per-provider ones, in the order `config check` prints them. SPEC §11 fixes the
    /// environment names; the file keys group them the way docs/OPERATIONS.md's sample file does.
    public static let known: [ConfigurationSetting] = [
        .init("data_dir", "KEYGATE_DATA_DIR") { $0.dataDirectory },
        .init("database.url", "KEYGATE_DATABASE_URL", .urlWithPassword) { $0.databaseURL ?? "sqlite (keygate.db in data_dir)" },
        .init("database.sqlite_sync", "KEYGATE_SQLITE_SYNC") { $0.sqliteDurability.rawValue },
        .init("master_key", "KEYGATE_MASTER_KEY", .secret) { config in
            (config.environment["KEYGATE_MASTER_KEY_FILE"] ?? "").isEmpty ? "unset: the development key in data_dir" : nil
        },
        .init("master_key_file", "KEYGATE_MASTER_KEY_FILE") { _ in nil },
        .init("master_key_previous", "KEYGATE_MASTER_KEY_PREVIOUS", .secret) { _ in nil },
        .init("log_level", "KEYGATE_LOG_LEVEL", .plain, .reload) { $0.logLevel },
        .init("catalog", "KEYGATE_CATALOG", .plain, .reload) { $0.catalogPath ?? "built-in" },
        .init("limits.max_body_bytes", "KEYGATE_MAX_BODY_BYTES") { "\($0.maxBodyBytes)" },
        .init("upstream.max_connections", "KEYGATE_UPSTREAM_MAX_CONNECTIONS") { "\($0.maxConnectionsPerHost)" },
        .init("upstream.connect_timeout", "KEYGATE_UPSTREAM_CONNECT_TIMEOUT") { seconds($0.defaultTimeouts.connect) },
        .init("upstream.first_byte_timeout", "KEYGATE_UPSTREAM_FIRST_BYTE_TIMEOUT") { seconds($0.defaultTimeouts.firstByte) },
        .init("upstream.idle_timeout", "KEYGATE_UPSTREAM_IDLE_TIMEOUT") { seconds($0.defaultTimeouts.idle) },
        .init("credits.platform_fee_percent", "KEYGATE_PLATFORM_FEE_PERCENT", .plain, .reload) {
            percent($0.creditPolicy.platformFeeBasisPoints)
        },
        .init("credits.byok_fee_percent", "KEYGATE_BYOK_FEE_PERCENT", .plain, .reload) { percent($0.creditPolicy.byokFeeBasisPoints) },
        .init("credits.default_max_output_tokens", "KEYGATE_DEFAULT_MAX_OUTPUT_TOKENS", .plain, .reload) {
            "\($0.creditPolicy.defaultMaxOutputTokens)"
        },
        .init("credits.min_reservation_credits", "KEYGATE_MIN_RESERVATION_CREDITS", .plain, .reload) {
            "\($0.creditPolicy.minimumReservation)"
        },
        .init("credits.reservation_lease_seconds", "KEYGATE_RESERVATION_LEASE_SECONDS") { "\($0.reservationLeaseSeconds)" },
        .init("credits.sweep_interval_seconds", "KEYGATE_SWEEP_INTERVAL_SECONDS") { "\($0.sweepIntervalSeconds)" },
        .init("credits.instance_dead_after_seconds", "KEYGATE_INSTANCE_DEAD_AFTER_SECONDS") { "\($0.instanceDeadAfterSeconds)" },
        .init("trial.credits", "KEYGATE_TRIAL_CREDITS", .plain, .reload) { "\($0.creditPolicy.trialCredits)" },
        .init("trial.days", "KEYGATE_TRIAL_DAYS", .plain, .reload) { "\($0.creditPolicy.trialDays)" },
        .init("jobs.tiers", "KEYGATE_TIERS", .plain, .reload) { $0.jobTiersPath ?? "none" },
        .init("jobs.failed_job_policy", "KEYGATE_FAILED_JOB_POLICY", .plain, .reload) { $0.failedJobPolicy.rawValue },
        .init("payments.packs", "KEYGATE_PACKS", .plain, .reload) { $0.payments.packsPath ?? "built-in" },
        .init("payments.public_url", "KEYGATE_PUBLIC_URL") { $0.payments.publicURL },
        .init("payments.topup_retry_seconds", "KEYGATE_TOPUP_RETRY_SECONDS") { "\($0.payments.topUpRetrySeconds)" },
        .init("stripe.base_url", "KEYGATE_STRIPE_BASE_URL") { $0.payments.stripeBaseURL },
        .init("stripe.secret_key", "KEYGATE_STRIPE_SECRET_KEY", .secret) { $0.payments.secretKey == nil ? nil : "set" },
        .init("stripe.webhook_secret", "KEYGATE_STRIPE_WEBHOOK_SECRET", .secret) { $0.payments.webhookSecret == nil ? nil : "set" },
        .init("stripe.timeout_seconds", "KEYGATE_STRIPE_TIMEOUT_SECONDS") { "\($0.payments.stripeTimeoutSeconds)" },
        .init("dashboard.password_hash_cost", "KEYGATE_PASSWORD_HASH_COST") { "\($0.passwordHashCost)" },
        .init("metrics.token", "KEYGATE_METRICS_TOKEN", .secret) { _ in nil },
        .init("metrics.org_labels", "KEYGATE_METRICS_ORG_LABELS") {
            MetricsSettings(environment: $0.environment).organizationLabels ? "true" : "false"
        },
        .init("shutdown.grace_seconds", "KEYGATE_SHUTDOWN_GRACE_SECONDS") { "\($0.shutdownGraceSeconds)" },
        .init("byok.health_interval", "KEYGATE_BYOK_HEALTH_INTERVAL") { $0.byokHealthInterval.map(interval) ?? "off" },
        .init("operator_webhook.url", "KEYGATE_OPERATOR_WEBHOOK_URL") { $0.operatorWebhookURL },
        .init("operator_webhook.secret", "KEYGATE_OPERATOR_WEBHOOK_SECRET", .secret) { $0.operatorWebhookSecret == nil ? nil : "set" },
    ]

    /// The fields a provider may set under `providers.<id>` (`KEYGATE_PROVIDER_<ID>_<FIELD>`).
    static let providerFields: [(field: String, secrecy: Secrecy, change: ChangeRule)] = [
        ("api_key", .secret, .restart),
        // Applied to the catalog, which a SIGHUP rebuilds.
        ("base_url", .plain, .reload),
        ("connect_timeout", .plain, .restart),
        ("first_byte_timeout", .plain, .restart),
        ("idle_timeout", .plain, .restart),
    ]

    /// The setting `providers.<provider>.<field>` names, nil for a field providers do not have. `provider` is
    /// the catalog's id (`azure-responses`) or its environment form (`AZURE_RESPONSES`), either case.
    static func provider(_ provider: String, field: String) -> ConfigurationSetting? {
        guard let spec = providerFields.first(where: { $0.field == field }) else { return nil }
        let id = ProviderSpec.environmentName(of: provider)
        let environmentName = "KEYGATE_PROVIDER_\(id)_\(field.uppercased())"
        return ConfigurationSetting("providers.\(provider).\(field)", environmentName, spec.secrecy, spec.change) { config in
            config.environment[environmentName].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// The setting a dotted file key names: one of `known`, or `providers.<id>.<field>`.
    static func named(fileKey key: String) -> ConfigurationSetting? {
        if let setting = known.first(where: { $0.fileKey == key }) { return setting }
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "providers", !parts[1].isEmpty else { return nil }
        return provider(String(parts[1]), field: String(parts[2]))
    }

    /// The setting an environment name belongs to, per-provider ones included; nil for a name Keygate does not read.
    static func named(environmentName name: String) -> ConfigurationSetting? {
        if let setting = known.first(where: { $0.environmentName == name }) { return setting }
        guard name.hasPrefix("KEYGATE_PROVIDER_") else { return nil }
        for field in providerFields where name.hasSuffix("_" + field.field.uppercased()) {
            let id = name.dropFirst("KEYGATE_PROVIDER_".count).dropLast(field.field.count + 1)
            guard !id.isEmpty else { continue }
            return provider(String(id).lowercased(), field: field.field)
        }
        return nil
    }

    /// A timeout as the setting takes it: seconds, with up to 3 decimals (`10`, `0.5`).
    static func seconds(_ duration: Duration) -> String {
        let (whole, attoseconds) = duration.components
        return DecimalFormat.string(whole * 1000 + attoseconds / 1_000_000_000_000_000, scale: 3)
    }

    /// An interval as `KEYGATE_BYOK_HEALTH_INTERVAL` takes it, in its largest whole unit (`6h`, `90m`, `45s`).
    static func interval(_ duration: Duration) -> String {
        let whole = duration.components.seconds
        if whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }

    /// Basis points as the percentage the setting takes (`550` → `5.5`).
    static func percent(_ basisPoints: Int64) -> String {
        DecimalFormat.string(basisPoints, scale: 2)
    }
}
