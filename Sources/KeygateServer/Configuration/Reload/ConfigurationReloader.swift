import Foundation
import KeygateCore
import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration on SIGHUP and applies what can change without a restart: fees, estimate rules,
/// trial policy, packs, tiers, the failed-job policy, prices (the catalog file, read again) and the log level.
/// A changed setting that needs a restart is named in a warning and left as it is. A reload that fails (a bad
/// value, a missing file) changes nothing and says why, naming the setting.
///
/// Requests read the new values when they are planned; one already running is charged by the model prices and
/// fees it was planned under (`UsageDraft.resolved` and `.policy`), even when it settles after the reload.
public struct ConfigurationReloader: Service {
    let gateway: Gateway
    let logLevel: LogLevelControl

    public init(gateway: Gateway, logLevel: LogLevelControl = .process) {
        self.gateway = gateway
        self.logLevel = logLevel
    }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            _ = await reload()
        }
    }

    /// What one reload did.
    public struct Outcome: Sendable {
        /// Settings that can change without a restart and did (file keys where the file has them).
        public var applied: [String] = []
        /// Settings that changed but wait for a restart.
        public var needsRestart: [String] = []
        /// Why nothing was applied, naming the setting; nil when the reload succeeded.
        public var failure: String?
    }

    /// Reads the environment the process started with and the config file again, then swaps in the new values.
    public func reload() async -> Outcome {
        let running = gateway.configuration
        let environment = running.sources?.environment ?? running.environment
        var outcome = Outcome()
        let catalog: Catalog
        let packs: CreditPacks
        let next: GatewayConfiguration
        do {
            var loaded = try await GatewayConfiguration.load(environment: environment, configFile: running.sources?.file?.path)
            catalog = try Bootstrap.loadCatalog(loaded)
            try loaded.readProviderSettings(for: catalog)
            packs = try Bootstrap.loadPacks(loaded)
            next = loaded
        } catch {
            let reason = (error as? StartupError)?.description ?? "the configuration could not be read"
            gateway.metrics.configReload(outcome: "failed")
            gateway.logger.error("Configuration reload failed; the running configuration is unchanged", metadata: ["reason": "\(reason)"])
            outcome.failure = reason
            return outcome
        }
        for name in Set(running.environment.keys).union(next.environment.keys).sorted() where name.hasPrefix("KEYGATE_") {
            guard (running.environment[name] ?? "") != (next.environment[name] ?? ""), let setting = ConfigurationSetting.named(environmentName: name)
            else {
                continue
            }
            let shownName = next.sources?.file?.settings.contains { $0.environmentName == name } == true ? setting.fileKey : name
            if setting.change == .reload { outcome.applied.append(shownName) } else { outcome.needsRestart.append(shownName) }
        }
        let live = gateway.live
        live.catalog.replace(with: catalog)
        live.creditPolicy.replace(with: next.creditPolicy)
        live.packs.replace(with: packs)
        live.jobTiers.replace(with: next.jobTiers)
        live.failedJobPolicy.replace(with: next.failedJobPolicy)
        logLevel.level = Logger.Level(rawValue: next.logLevel) ?? .info
        gateway.metrics.configReload(outcome: "applied")
        gateway.logger.notice(
            "Configuration reloaded",
            metadata: [
                "changed": .array(outcome.applied.map { .string($0) }),
                "files_reread": "catalog, packs and tiers files",
                "models": "\(catalog.models.count)",
            ])
        if !outcome.needsRestart.isEmpty {
            gateway.logger.warning(
                "Configuration changed in settings that take effect only after a restart; they keep their running values",
                metadata: ["needs_restart": .array(outcome.needsRestart.map { .string($0) })])
        }
        return outcome
    }
}
