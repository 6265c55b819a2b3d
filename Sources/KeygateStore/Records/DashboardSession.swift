/// A signed-in browser. The session id itself never reaches the store: only its SHA-256 (`idHash`, hex), so
/// a copy of the database lets nobody sign in.
public struct DashboardSession: Sendable, Hashable {
    public var idHash: String
    public var userID: String
    /// The synchronizer token every form and `fetch` of this session sends back.
    public var csrfToken: String
    public var createdAt: Int64
    public var expiresAt: Int64
    public var lastSeenAt: Int64

    public init(idHash: String, userID: String, csrfToken: String, createdAt: Int64, expiresAt: Int64, lastSeenAt: Int64) {
        self.idHash = idHash
        self.userID = userID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastSeenAt = lastSeenAt
    }
}
