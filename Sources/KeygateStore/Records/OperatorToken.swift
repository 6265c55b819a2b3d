/// An operator token for `/api/admin/…`, as stored: its SHA-256 hash, never the token.
public struct OperatorToken: Sendable, Hashable {
    public var id: String
    /// Who holds it (`ops-alice`, `billing-bot`): the "who" of every audit record it signs.
    public var name: String
    public var lookupID: String
    public var hash: [UInt8]
    /// Prefix, lookup id and the last 4 characters.
    public var preview: String
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(id: String, name: String, lookupID: String, hash: [UInt8], preview: String, createdAt: Int64, revokedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.lookupID = lookupID
        self.hash = hash
        self.preview = preview
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}
