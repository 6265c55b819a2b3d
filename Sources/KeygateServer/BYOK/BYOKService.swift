import KeygateCore
import KeygateStore
import KeygateVault

/// Managing an organisation's own provider keys (SPEC §3), for the CLI and the `/api/orgs/{slug}/byok-keys`
/// routes alike. Every failure is a `GatewayError` that says what to do and never contains the secret.
///
/// One active key per provider per organisation: adding a key for a provider that has one makes the new key
/// active and the old one inactive (rotation: add the new key, then remove the old one).
///
/// It takes only what it uses, so the server and the CLI each build one: the server with its key cache,
/// the CLI (`Bootstrap.withBYOKService`) without a cache, server or background work.
public struct BYOKService: Sendable {
    let store: any Store
    let keyring: MasterKeyring
    /// The catalog in force (a SIGHUP may replace it).
    let catalogSource: Reloadable<Catalog>
    var catalog: Catalog { catalogSource.value }
    let validator: ProviderKeyValidator
    /// The serving process's cache, dropped at once on every change; nil in a process that serves no
    /// requests (the CLI): servers sharing the database see the change within the cache's TTL.
    let keyCache: BYOKKeyCache?

    init(store: any Store, keyring: MasterKeyring, catalog: Catalog, validator: ProviderKeyValidator, keyCache: BYOKKeyCache?) {
        self.init(store: store, keyring: keyring, catalog: Reloadable(catalog), validator: validator, keyCache: keyCache)
    }

    init(store: any Store, keyring: MasterKeyring, catalog: Reloadable<Catalog>, validator: ProviderKeyValidator, keyCache: BYOKKeyCache?) {
        self.store = store
        self.keyring = keyring
        self.catalogSource = catalog
        self.validator = validator
        self.keyCache = keyCache
    }

    /// The server's service: the gateway's store, keyring, catalog, upstream clients and key cache.
    public init(gateway: Gateway) {
        self.init(
            store: gateway.store, keyring: gateway.keyring, catalog: gateway.live.catalog,
            validator: ProviderKeyValidator(upstream: gateway.upstream, catalog: gateway.live.catalog, metrics: gateway.metrics),
            keyCache: gateway.byokKeys)
    }

    func organization(_ slug: String) async throws -> Organization {
        guard let org = try await store.organization(slug: slug) else {
            throw GatewayError.organizationNotFound(slug, in: .database)
        }
        return org
    }

    /// Validates (unless told not to), seals and stores a key; returns the stored form (no secret in it).
    public func add(organizationSlug: String, provider name: String, secret: JSONValue, validate: Bool) async throws -> BYOKKeyRecord {
        let org = try await organization(organizationSlug)
        guard let provider = catalog.provider(named: name) else {
            throw GatewayError.unknownBYOKProvider(name, in: .keyBody)
        }
        let credential = try BYOKCredential.parse(secret, for: provider)
        var validation = "skipped"
        if validate {
            switch await validator.validate(credential, provider: provider) {
            case .valid: validation = "ok"
            case .shapeOnly: validation = "shape ok"
            case .rejected(let status):
                throw GatewayError.byokKeyInvalid(providerName: provider.name, status: status)
            case .unavailable(let why):
                throw GatewayError.byokValidationUnavailable(providerName: provider.name, why: why)
            }
        }
        let id = Identifiers.make("byok")
        let sealed = try SecretVault.seal(
            credential.secret, binding: SecretBinding(organizationID: org.id, provider: provider.id, keyID: id),
            keyring: keyring)
        let now = WallClock.nowMs()
        let record = BYOKKeyRecord(
            id: id, organizationID: org.id, provider: provider.id, ciphertext: sealed.combined,
            masterKeyID: sealed.masterKeyID, preview: credential.preview, status: .active, createdAt: now,
            lastValidatedAt: validate ? now : nil, lastValidationResult: validation)
        try await store.addBYOKKey(record)
        keyCache?.invalidate(organizationID: org.id, provider: provider.id)
        return record
    }

    public func list(organizationSlug: String) async throws -> [BYOKKeyRecord] {
        try await store.byokKeys(organizationID: try await organization(organizationSlug).id)
    }

    /// Activates (`active: true`) or deactivates a key. Unknown ids, and ids of other organisations, are 404.
    public func setActive(organizationSlug: String, keyID: String, active: Bool) async throws -> BYOKKeyRecord {
        let org = try await organization(organizationSlug)
        guard let key = try await store.byokKey(id: keyID, organizationID: org.id),
            try await store.setBYOKKeyStatus(id: keyID, organizationID: org.id, status: active ? .active : .inactive, validationResult: nil)
        else { throw GatewayError.byokKeyNotFound(keyID) }
        keyCache?.invalidate(organizationID: org.id, provider: key.provider)
        return try await store.byokKey(id: keyID, organizationID: org.id) ?? key
    }

    public func remove(organizationSlug: String, keyID: String) async throws {
        let org = try await organization(organizationSlug)
        guard let key = try await store.byokKey(id: keyID, organizationID: org.id),
            try await store.deleteBYOKKey(id: keyID, organizationID: org.id)
        else { throw GatewayError.byokKeyNotFound(keyID) }
        keyCache?.invalidate(organizationID: org.id, provider: key.provider)
    }

    /// Re-encrypts every stored key that is not yet under the current master key. Safe while servers run:
    /// each row is swapped only if it still holds the ciphertext that was read (a concurrent change wins),
    /// and servers that have both keys read old and new rows alike. Returns how many rows were re-encrypted.
    public func rotateMasterKey() async throws -> Int {
        var rotated = 0
        for record in try await store.allBYOKKeys() where record.masterKeyID != keyring.current.fingerprint {
            let binding = SecretBinding(organizationID: record.organizationID, provider: record.provider, keyID: record.id)
            let old = SealedSecret(combined: record.ciphertext, masterKeyID: record.masterKeyID)
            let new = try SecretVault.reseal(old, binding: binding, keyring: keyring)
            if try await store.replaceBYOKCiphertext(id: record.id, from: record.ciphertext, to: new.combined, masterKeyID: new.masterKeyID) {
                rotated += 1
            }
        }
        keyCache?.invalidateAll()
        return rotated
    }

    /// The provider refused a stored key during a request: mark it so the dashboard shows it.
    func markRejected(organizationID: String, key: UsableBYOKKey, status: Int) async {
        _ = try? await store.setBYOKKeyStatus(
            id: key.id, organizationID: organizationID, status: .invalid,
            validationResult: "refused by the provider during a request (HTTP \(status))")
        keyCache?.invalidate(organizationID: organizationID, provider: key.provider)
    }
}
