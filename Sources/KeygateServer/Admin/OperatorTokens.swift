import KeygateCore
import KeygateStore
import KeygateVault

/// Operator tokens for `/api/admin/…`, shared by `keygate operator-token` and the admin API's authenticator.
/// A token is shown once when made; only its SHA-256 is stored, and a presented token is compared with it in
/// constant time, exactly as API keys are.
public struct OperatorTokens: Sendable {
    let store: any OperatorStore & AuditStore

    public init(store: any OperatorStore & AuditStore) {
        self.store = store
    }

    /// Makes a token and records who made it (the CLI on the server's machine) in the audit trail.
    public func create(name: String?) async throws -> (token: OperatorToken, plaintext: String) {
        let name = (name?.isEmpty == false ? name : nil) ?? "operator"
        let key = OperatorTokenFormat.generate()
        let token = OperatorToken(
            id: Identifiers.make("op"), name: name, lookupID: key.lookupID, hash: key.hash, preview: key.preview, createdAt: WallClock.nowMs())
        try await store.createOperatorToken(token)
        try await store.appendAudit(
            Self.cliRecord(action: "operator_token.create", detail: "token \(token.id) named '\(name)'"))
        return (token, key.plaintext)
    }

    public func list() async throws -> [OperatorToken] { try await store.operatorTokens() }

    public func revoke(id: String) async throws {
        guard try await store.revokeOperatorToken(id: id, at: WallClock.nowMs()) else {
            throw StoreError.notFound("active operator token '\(id)'")
        }
        try await store.appendAudit(Self.cliRecord(action: "operator_token.revoke", detail: "token \(id)"))
    }

    /// The active token `presented` is, or nil (not shaped like one, unknown, wrong secret or revoked).
    func authenticate(_ presented: String) async throws -> OperatorToken? {
        guard let lookupID = OperatorTokenFormat.lookupID(of: presented),
            let token = try await store.operatorToken(lookupID: lookupID),
            APIKeyGenerator.matches(presented, storedHash: token.hash), !token.isRevoked
        else { return nil }
        return token
    }

    static func cliRecord(action: String, detail: String) -> AuditRecord {
        AuditRecord(
            id: Identifiers.make("aud"), at: WallClock.nowMs(), actorID: "cli", actorName: "keygate command line", action: action,
            target: nil, detail: detail, outcome: "ok", clientAddress: "local")
    }
}
