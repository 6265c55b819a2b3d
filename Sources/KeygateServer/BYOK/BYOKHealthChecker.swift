import KeygateCore
import KeygateStore
import KeygateVault
import Logging
import ServiceLifecycle

/// Re-validates every active BYOK key with its provider's cheap call (`ProviderKeyValidator`, the check made
/// when the key was added) once per `interval`, so that a key the provider revoked is marked `invalid` (with
/// the reason and time, on the dashboard and the API) before the organisation's next request fails on it.
/// A `Service` of `keygate serve`; never on the request path.
///
/// Spread out: every `tick` it claims at most `batch` keys that are due (not checked for a whole interval,
/// oldest first), so the checks of many keys follow their own add/check times over the interval instead of
/// coming in one burst, and a backlog (after an upgrade, or a long stop) drains `batch` keys a tick. One
/// process at a time: the claim is one transaction that moves the claimed keys' next check a whole interval
/// on (`BYOKHealthStore`), so replicas sharing the database never check the same key twice.
///
/// What a check finds: accepted, the key's last validation is now "ok"; refused (401/403), the key becomes
/// `invalid` (only if it is still active), the cache forgets it and the operator webhook, if set, gets a
/// signed `byok_key.invalid` event; no telling answer (provider down, timeout), nothing changes but a log line.
/// A secret is decrypted only for its own check and never logged.
final class BYOKHealthChecker: Service {
    let store: any Store
    let keyring: MasterKeyring
    let catalogSource: Reloadable<Catalog>
    var catalog: Catalog { catalogSource.value }
    let validator: ProviderKeyValidator
    let keyCache: BYOKKeyCache
    let interval: Duration
    let webhook: OperatorWebhook?
    let logger: Logger
    /// At most this many keys are checked per tick.
    static let batch = 20

    init(
        store: any Store, keyring: MasterKeyring, catalog: Reloadable<Catalog>, validator: ProviderKeyValidator, keyCache: BYOKKeyCache,
        interval: Duration, webhook: OperatorWebhook?, logger: Logger
    ) {
        self.store = store
        self.keyring = keyring
        self.catalogSource = catalog
        self.validator = validator
        self.keyCache = keyCache
        self.interval = interval
        self.webhook = webhook
        self.logger = logger
    }

    /// How often the due keys are claimed: a hundredth of the interval, between 1 s and 60 s.
    var tick: Duration { min(max(interval / 100, .seconds(1)), .seconds(60)) }

    func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let tick = tick
            do {
                try await cancelOnGracefulShutdown { try await Task.sleep(for: tick) }
            } catch {
                return
            }
            await checkDue()
        }
    }

    /// One round: claims the keys due now and checks them one after another. Returns how many were checked.
    @discardableResult
    func checkDue() async -> Int {
        let now = WallClock.nowMs()
        let keys: [BYOKKeyRecord]
        do {
            keys = try await store.claimBYOKHealthChecks(now: now, dueBefore: now - interval.milliseconds, limit: Self.batch)
        } catch {
            logger.warning("BYOK health check: could not claim the keys due", metadata: ["error": "\(error)"])
            return 0
        }
        for key in keys {
            if Task.isCancelled { break }
            await check(key)
        }
        return keys.count
    }

    private func check(_ key: BYOKKeyRecord) async {
        let metadata: Logger.Metadata = [
            "byok_key": "\(key.id)", "organization_id": "\(key.organizationID)", "provider": "\(key.provider)",
        ]
        guard let provider = catalog.provider(named: key.provider) else {
            logger.notice("BYOK health check skipped: the catalog no longer lists the key's provider", metadata: metadata)
            return
        }
        let credential: BYOKCredential
        do {
            let secret = try SecretVault.open(
                SealedSecret(combined: key.ciphertext, masterKeyID: key.masterKeyID),
                binding: SecretBinding(organizationID: key.organizationID, provider: key.provider, keyID: key.id), keyring: keyring)
            credential = BYOKCredential(secret: secret, preview: key.preview, fields: BYOKCredential.fields(ofStored: secret))
        } catch {
            logger.error("BYOK health check: the key does not decrypt under the master keys given", metadata: metadata)
            return
        }
        let outcome = await validator.validate(credential, provider: provider)
        let at = WallClock.nowMs()
        do {
            switch outcome {
            case .valid, .shapeOnly:
                _ = try await store.recordBYOKHealthCheck(
                    id: key.id, organizationID: key.organizationID, result: "ok", invalid: false, at: at)
            case .rejected(let status):
                let reason = "refused by the provider at the scheduled health check (HTTP \(status))"
                let changed = try await store.recordBYOKHealthCheck(
                    id: key.id, organizationID: key.organizationID, result: reason, invalid: true, at: at)
                guard changed else { return }
                keyCache.invalidate(organizationID: key.organizationID, provider: key.provider)
                logger.warning("BYOK key marked invalid: the provider refuses it", metadata: metadata.merging(["status": "\(status)"]) { $1 })
                await notify(key, reason: reason, status: status, at: at)
            case .unavailable(let why):
                logger.notice(
                    "BYOK health check inconclusive: the provider gave no telling answer", metadata: metadata.merging(["why": "\(why)"]) { $1 })
            }
        } catch {
            logger.warning("BYOK health check: could not record the result", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }

    private func notify(_ key: BYOKKeyRecord, reason: String, status: Int, at: Int64) async {
        guard let webhook else { return }
        let slug = (try? await store.organizations())?.first { $0.id == key.organizationID }?.slug
        await webhook.send(
            type: "byok_key.invalid",
            data: [
                "organization_id": .string(key.organizationID), "organization": slug.map { .string($0) } ?? .null,
                "key_id": .string(key.id), "provider": .string(key.provider), "preview": .string(key.preview),
                "status": .string(BYOKKeyStatus.invalid.rawValue), "reason": .string(reason),
                "provider_status": .number(String(status)), "checked_at": .number(String(at)),
            ])
    }
}
