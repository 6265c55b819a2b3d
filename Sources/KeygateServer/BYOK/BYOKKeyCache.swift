import KeygateCore
import KeygateStore
import KeygateVault
import NIOCore
import Synchronization

/// An organisation's key for one provider, decrypted, as a request uses it.
struct UsableBYOKKey: Sendable {
    let id: String
    let provider: String
    let preview: String
    let status: BYOKKeyStatus
    let secret: String
}

/// The request path's view of BYOK keys: one database read and one decryption per organisation and
/// provider per `ttl`, including the answer "no key" (most requests have none).
///
/// Invariants: decrypted secrets stay at most `ttl` (2 s) in memory after their last lookup, then are
/// dropped; a change made through this process (add, deactivate, remove, rotate, a provider refusing the key)
/// invalidates at once; a change made by another process sharing the database (the CLI, another replica)
/// is seen within `ttl`.
final class BYOKKeyCache: Sendable {
    static let ttl: Duration = .seconds(2)

    private struct Entry {
        let key: UsableBYOKKey?
        let expiresAt: UInt64
    }

    private let store: any BYOKKeyStore
    private let keyring: MasterKeyring
    private let state = Mutex<(entries: [String: Entry], nextSweep: UInt64)>(([:], 0))

    init(store: any BYOKKeyStore, keyring: MasterKeyring) {
        self.store = store
        self.keyring = keyring
    }

    private static func now() -> UInt64 { NIODeadline.now().uptimeNanoseconds }
    private static let ttlNanos = UInt64(ttl.components.seconds) * 1_000_000_000

    /// The key to use for this organisation and provider, or nil (then the platform pays).
    /// A key that no longer decrypts is a 500-class error, never garbage sent to a provider.
    func key(organizationID: String, provider: String) async throws -> UsableBYOKKey? {
        let name = organizationID + "\u{0}" + provider
        let now = Self.now()
        if let cached = state.withLock({ state -> Entry? in
            if now >= state.nextSweep {
                state.entries = state.entries.filter { $0.value.expiresAt > now }
                state.nextSweep = now + Self.ttlNanos
            }
            guard let entry = state.entries[name], entry.expiresAt > now else { return nil }
            return entry
        }) {
            return cached.key
        }
        var key: UsableBYOKKey?
        if let record = try await store.activeBYOKKey(organizationID: organizationID, provider: provider) {
            let sealed = SealedSecret(combined: record.ciphertext, masterKeyID: record.masterKeyID)
            let binding = SecretBinding(organizationID: organizationID, provider: provider, keyID: record.id)
            let secret: String
            do {
                secret = try SecretVault.open(sealed, binding: binding, keyring: keyring)
            } catch {
                throw GatewayError.byokKeyUnreadable(provider: provider, preview: record.preview)
            }
            key = UsableBYOKKey(id: record.id, provider: provider, preview: record.preview, status: record.status, secret: secret)
        }
        let entry = Entry(key: key, expiresAt: now + Self.ttlNanos)
        state.withLock { $0.entries[name] = entry }
        return key
    }

    func invalidate(organizationID: String, provider: String) {
        _ = state.withLock { $0.entries.removeValue(forKey: organizationID + "\u{0}" + provider) }
    }

    func invalidateAll() {
        state.withLock { $0.entries.removeAll() }
    }
}

extension GatewayError {
    static func byokKeyUnreadable(provider: String, preview: String) -> GatewayError {
        GatewayError(status: 500, type: "api_error", code: "byok_key_unreadable",
                     message: "The organisation's stored key for '\(provider)' (\(preview)) cannot be decrypted: it was altered or the gateway's master key changed. An org admin should remove it and add the key again; the operator should check KEYGATE_MASTER_KEY.")
    }

    static func byokKeyRequired(provider: String, organization: String) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: "byok_key_missing",
                     message: "x-byok-provider asks for the organisation's own '\(provider)' key, but it has no active one. Add it with 'keygate byok add --org \(organization) --provider \(provider)' or POST /api/orgs/\(organization)/byok-keys, or drop the header to use credits.",
                     param: "x-byok-provider")
    }

    static func unknownBYOKProvider(_ name: String) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: "unknown_provider",
                     message: "x-byok-provider names '\(name)', which is not a provider of this gateway. Use a provider id such as openai, anthropic, google, openrouter.",
                     param: "x-byok-provider")
    }

    static func byokKeyRejected(provider: String, preview: String, status: Int) -> GatewayError {
        GatewayError(status: 403, type: "permission_error", code: "byok_key_rejected",
                     message: "Provider '\(provider)' refused the organisation's own key \(preview) (HTTP \(status)). Check that it was copied whole, that it has not been revoked in the provider's console and that the account is in good standing, then add it again. The key is marked invalid.")
    }
}
