import KeygateCore
import KeygateStore
import PostgresNIO

/// UserStore on PostgreSQL. NOT YET IMPLEMENTED: every method throws until its helper fills it in.
extension PostgresStore {
    public func createUser(email: String, passwordHash: String) async throws -> DashboardUser {
        throw StoreError.unavailable("PostgresStore.createUser is not implemented yet")
    }

    public func user(email: String) async throws -> DashboardUser? {
        throw StoreError.unavailable("PostgresStore.user is not implemented yet")
    }

    public func setMembership(userID: String, organizationID: String, role: MemberRole) async throws {
        throw StoreError.unavailable("PostgresStore.setMembership is not implemented yet")
    }

    public func removeMembership(userID: String, organizationID: String) async throws -> Bool {
        throw StoreError.unavailable("PostgresStore.removeMembership is not implemented yet")
    }

    public func memberships(userID: String) async throws -> [Membership] {
        throw StoreError.unavailable("PostgresStore.memberships is not implemented yet")
    }

    public func members(organizationID: String) async throws -> [Membership] {
        throw StoreError.unavailable("PostgresStore.members is not implemented yet")
    }

    public func createSession(_ session: DashboardSession) async throws {
        throw StoreError.unavailable("PostgresStore.createSession is not implemented yet")
    }

    public func activeSession(idHash: String, now: Int64) async throws -> (DashboardSession, DashboardUser)? {
        throw StoreError.unavailable("PostgresStore.activeSession is not implemented yet")
    }

    public func deleteSession(idHash: String) async throws {
        throw StoreError.unavailable("PostgresStore.deleteSession is not implemented yet")
    }

    public func recordLoginFailure(keys: [String], at: Int64) async throws {
        throw StoreError.unavailable("PostgresStore.recordLoginFailure is not implemented yet")
    }

    public func loginFailures(key: String, since: Int64) async throws -> LoginFailures {
        throw StoreError.unavailable("PostgresStore.loginFailures is not implemented yet")
    }

    public func clearLoginFailures(key: String) async throws {
        throw StoreError.unavailable("PostgresStore.clearLoginFailures is not implemented yet")
    }
}
