/// Dashboard users, their memberships, their sessions and the failed sign-ins behind the login back-off.
/// Sessions and failures live in the database so that they survive a restart and hold across processes.
public protocol UserStore: Sendable {
    /// Throws `.duplicate` when a user with this email (compared case-insensitively) exists.
    func createUser(email: String, passwordHash: String) async throws -> DashboardUser
    /// Case-insensitive.
    func user(email: String) async throws -> DashboardUser?
    /// Adds the user to the organisation, or changes their role there.
    func setMembership(userID: String, organizationID: String, role: MemberRole) async throws
    /// False when the user was not a member. Their sessions stay; they simply see the organisation no more.
    func removeMembership(userID: String, organizationID: String) async throws -> Bool
    /// The user's organisations, by slug.
    func memberships(userID: String) async throws -> [Membership]
    /// The organisation's users, by email.
    func members(organizationID: String) async throws -> [Membership]
    func createSession(_ session: DashboardSession) async throws
    /// The unexpired session with this id hash and its user; notes `now` as its last use (at most once a minute).
    func activeSession(idHash: String, now: Int64) async throws -> (DashboardSession, DashboardUser)?
    func deleteSession(idHash: String) async throws
    /// One failure under each key (say `account:…` and `address:…`); failures older than a day are dropped.
    func recordLoginFailure(keys: [String], at: Int64) async throws
    func loginFailures(key: String, since: Int64) async throws -> LoginFailures
    func clearLoginFailures(key: String) async throws
}
