import CoreMetrics
import Foundation
import KeygateCore
import KeygatePostgres
import KeygateSQLite
import KeygateStore
import KeygateVault
import Logging

/// Turns a configuration into the opened pieces the gateway runs on, failing with one clear line when
/// something cannot work (unwritable directory, bad database URL, bad master key, bad catalog).
public enum Bootstrap {
    /// Creates the data directory when the embedded database or the development master key will live there.
    public static func prepareDataDirectory(_ config: GatewayConfiguration) throws {
        let needsDirectory =
            config.databaseURL == nil || config.databaseURL?.hasPrefix("sqlite://") == true
            || (config.environment["KEYGATE_MASTER_KEY"] ?? "").isEmpty && (config.environment["KEYGATE_MASTER_KEY_FILE"] ?? "").isEmpty
        guard needsDirectory else { return }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: config.dataDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw StartupError("KEYGATE_DATA_DIR \(config.dataDirectory) exists but is not a directory")
            }
        } else {
            do {
                try fm.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw StartupError("cannot create KEYGATE_DATA_DIR \(config.dataDirectory): permission denied or invalid path")
            }
        }
        guard fm.isWritableFile(atPath: config.dataDirectory) else {
            throw StartupError("KEYGATE_DATA_DIR \(config.dataDirectory) is not writable by this user")
        }
    }

    /// Opens and migrates the store `KEYGATE_DATABASE_URL` names (the embedded SQLite file by default). `metrics`
    /// receives the ledger's commit times and sizes (the gateway's registry for `serve`).
    public static func openStore(
        _ config: GatewayConfiguration, logger: Logger = Logger(label: "keygate.store"), metrics: (any MetricsFactory)? = nil
    ) async throws -> any Store {
        try prepareDataDirectory(config)
        switch try config.database() {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !FileManager.default.isWritableFile(atPath: directory) {
                throw StartupError("cannot create the SQLite database \(path): directory \(directory) is missing or not writable")
            }
            do {
                let store = try SQLiteStore(path: path, durability: config.sqliteDurability, metrics: metrics)
                try await store.migrate()
                return store
            } catch let error as StoreError {
                throw StartupError(error.description)
            }
        case .postgres(let url):
            let store = PostgresStore(url: url, logger: logger, metrics: metrics)
            do {
                try await store.migrate()
                return store
            } catch let error as StoreError {
                try? await store.close()
                throw StartupError(error.description)
            }
        }
    }

    public static func loadKeyring(_ config: GatewayConfiguration) throws -> MasterKeyring {
        try prepareDataDirectory(config)
        do {
            return try MasterKeyring.load(environment: config.environment, dataDirectory: config.dataDirectory)
        } catch let error as MasterKeyError {
            throw StartupError(error.description)
        }
    }

    /// Refuses to start when stored BYOK keys were sealed under a master key this process does not have:
    /// better one clear message now than a failure on every BYOK request.
    public static func checkStoredKeysDecrypt(store: any Store, keyring: MasterKeyring) async throws {
        let unknown = Set(try await store.allBYOKKeys().map(\.masterKeyID)).subtracting(keyring.knownIDs)
        if let id = unknown.sorted().first {
            throw StartupError(
                "stored BYOK keys are encrypted under master key \(id), which is not configured (this process has \(keyring.knownIDs.joined(separator: ", "))). Set KEYGATE_MASTER_KEY to the key they were stored with, or to the new key with the old one in KEYGATE_MASTER_KEY_PREVIOUS during a rotation"
            )
        }
    }

    public static func loadCatalog(_ config: GatewayConfiguration) throws -> Catalog {
        do {
            let catalog = try config.catalogPath.map { try CatalogLoader.load(path: $0) } ?? CatalogLoader.builtIn()
            return try CatalogLoader.applyingBaseURLOverrides(catalog, environment: config.environment)
        } catch let error as CatalogError {
            let error = StartupError(error.description)
            throw config.sources?.naming(error) ?? error
        }
    }

    public static func loadPacks(_ config: GatewayConfiguration) throws -> CreditPacks {
        do {
            return try config.payments.packsPath.map { try PackLoader.load(path: $0) } ?? PackLoader.builtIn()
        } catch let error as PackError {
            throw StartupError(error.description)
        }
    }

    /// Everything `keygate serve` needs, opened in the order that gives the most useful first error. Starts
    /// no background work: that runs as the services of `GatewayServer.application`.
    public static func gateway(_ baseConfig: GatewayConfiguration, logger: Logger) async throws -> Gateway {
        let metrics = GatewayMetrics(configuration: baseConfig)
        let (config, catalog, keyring, store) = try await openStoreAndKeys(baseConfig, logger: logger, metrics: metrics.factory)
        let gateway: Gateway
        do {
            let packs = try loadPacks(config)
            gateway = try Gateway(
                configuration: config, catalog: catalog, packs: packs, store: store, keyring: keyring, logger: logger, metrics: metrics)
        } catch {
            try? await store.close()
            throw error
        }
        // Alive before the first reservation, so no sweeper anywhere can take this process for dead.
        try await store.heartbeat(instanceID: gateway.instanceID, at: WallClock.nowMs())
        return gateway
    }

    /// Runs `body` with what the BYOK and master-key commands need (the store, keyring and catalog `serve`
    /// would open, checked the same way) and nothing more: no heartbeat, no sweep, no server, no key cache.
    /// Closes the upstream clients (used to validate a key) and the store afterwards, also when `body` throws.
    public static func withBYOKService<T>(
        _ baseConfig: GatewayConfiguration, logger: Logger,
        _ body: (BYOKService) async throws -> T
    ) async throws -> T {
        let (config, catalog, keyring, store) = try await openStoreAndKeys(baseConfig, logger: logger)
        let upstream = UpstreamClients(configuration: config)
        let service = BYOKService(
            store: store, keyring: keyring, catalog: catalog,
            validator: ProviderKeyValidator(upstream: upstream, catalog: catalog), keyCache: nil)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(service))
        } catch {
            result = .failure(error)
        }
        await upstream.shutdown()
        try? await store.close()
        return try result.get()
    }

    /// Runs `body` with the payment service on the server's database and packs (for `keygate topup`), with a
    /// Stripe client when one is configured (to check an attached card); no server. Closes both afterwards.
    public static func withPaymentService<T>(
        _ config: GatewayConfiguration, logger: Logger, _ body: (PaymentService) async throws -> T
    ) async throws -> T {
        let packs = try loadPacks(config)
        let store = try await openStore(config)
        let stripe = config.payments.secretKey.map { StripeClient(settings: config.payments, secretKey: $0, logger: logger) }
        let result: Result<T, any Error>
        do {
            result = .success(try await body(PaymentService(store: store, packs: packs, settings: config.payments, stripe: stripe, logger: logger)))
        } catch {
            result = .failure(error)
        }
        await stripe?.shutdown()
        try? await store.close()
        return try result.get()
    }

    /// The catalog (with the provider settings read into the configuration), the keyring and the migrated
    /// store, refusing stored BYOK keys this keyring cannot open; logs where the master key came from.
    private static func openStoreAndKeys(
        _ baseConfig: GatewayConfiguration, logger: Logger, metrics: (any MetricsFactory)? = nil
    ) async throws
        -> (GatewayConfiguration, Catalog, MasterKeyring, any Store)
    {
        var config = baseConfig
        let catalog = try loadCatalog(config)
        try config.readProviderSettings(for: catalog)
        let keyring = try loadKeyring(config)
        let masterKey = keyring.current
        let store = try await openStore(config, metrics: metrics)
        do {
            try await checkStoredKeysDecrypt(store: store, keyring: keyring)
        } catch {
            try? await store.close()
            throw error
        }
        switch masterKey.origin {
        case .generatedDevelopmentFile(let path):
            logger.warning(
                "No master key configured: created a development master key at \(path). Production must set KEYGATE_MASTER_KEY (or KEYGATE_MASTER_KEY_FILE) to base64 of 32 random bytes and keep it out of the data directory."
            )
        case .existingDevelopmentFile(let path):
            logger.warning("Using the development master key at \(path). Production must set KEYGATE_MASTER_KEY (or KEYGATE_MASTER_KEY_FILE).")
        case .environment, .file:
            logger.info("Master key loaded", metadata: ["fingerprint": "\(masterKey.fingerprint)"])
        }
        return (config, catalog, keyring, store)
    }
}
