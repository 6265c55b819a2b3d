/// A person who signs in to the dashboard. The password is only ever held as a bcrypt hash.
public struct DashboardUser: Sendable, Hashable {
    /// `usr_…`
    public var id: String
    /// As entered, but compared case-insensitively (unique in that sense).
    public var email: String
    public var passwordHash: String
    public var createdAt: Int64

    public init(id: String, email: String, passwordHash: String, createdAt: Int64) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}
