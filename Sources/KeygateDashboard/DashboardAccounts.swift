import Foundation
import KeygateCore
import KeygateStore

/// Dashboard users and sessions, shared by the CLI (`keygate user …`) and the login routes: the one place
/// that hashes and checks passwords, opens and closes sessions and applies the login back-off.
public struct DashboardAccounts: Sendable {
    public typealias Backing = UserStore & OrganizationStore
    public static let sessionLifetimeMs: Int64 = 12 * 3600 * 1000
    let store: any Backing
    let hasher: PasswordHasher
    let throttle: LoginThrottle

    public init(store: any Backing, hasher: PasswordHasher = PasswordHasher(), throttle: LoginThrottle = LoginThrottle()) {
        self.store = store
        self.hasher = hasher
        self.throttle = throttle
    }

    // MARK: Operators

    /// Creates the user and adds them to the organisation, or, when the email is taken, adds that user (their
    /// password unchanged). Returns the user and whether it was new.
    public func addUser(organizationSlug: String, email: String, password: String, role: MemberRole) async throws -> (DashboardUser, Bool) {
        let org = try await organization(organizationSlug)
        let email = email.trimmingCharacters(in: .whitespaces)
        guard Self.isPlausibleEmail(email) else { throw DashboardAccountError("'\(email)' is not an email address") }
        if let existing = try await store.user(email: email) {
            try await store.setMembership(userID: existing.id, organizationID: org.id, role: role)
            return (existing, false)
        }
        guard password.count >= PasswordHasher.minimumLength else {
            throw DashboardAccountError("the password must have at least \(PasswordHasher.minimumLength) characters")
        }
        let user = try await store.createUser(email: email, passwordHash: try await hasher.hash(password))
        try await store.setMembership(userID: user.id, organizationID: org.id, role: role)
        return (user, true)
    }

    public func members(organizationSlug: String) async throws -> [Membership] {
        try await store.members(organizationID: try await organization(organizationSlug).id)
    }

    public func removeMember(organizationSlug: String, email: String) async throws {
        let org = try await organization(organizationSlug)
        guard let user = try await store.user(email: email), try await store.removeMembership(userID: user.id, organizationID: org.id)
        else { throw DashboardAccountError("\(email) is not a member of \(organizationSlug)") }
    }

    /// Whether `keygate user create` needs a password: only for a new user.
    public func userExists(email: String) async throws -> Bool {
        try await store.user(email: email.trimmingCharacters(in: .whitespaces)) != nil
    }

    private func organization(_ slug: String) async throws -> Organization {
        guard let org = try await store.organization(slug: slug) else { throw DashboardAccountError("no organisation '\(slug)'") }
        return org
    }

    static func isPlausibleEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !email.contains(where: \.isWhitespace)
    }

    // MARK: Sign-in

    /// Checks the password (off the event loop) unless the account or the address is in its back-off; a
    /// failure counts against both, a success clears the account's count and opens a session.
    public func logIn(email: String, password: String, clientAddress: String, nowMs: Int64 = WallClock.nowMs()) async throws -> LoginOutcome {
        let accountKey = "account:" + email.trimmingCharacters(in: .whitespaces).lowercased()
        let addressKey = "address:" + clientAddress
        let since = nowMs - throttle.windowMs
        var wait: Int64 = 0
        for key in [accountKey, addressKey] {
            let failures = try await store.loginFailures(key: key, since: since)
            if let seconds = throttle.waitSeconds(after: (failures.count, failures.latestAt), nowMs: nowMs) { wait = max(wait, seconds) }
        }
        if wait > 0 { return .throttled(waitSeconds: wait) }

        let user = try await store.user(email: email.trimmingCharacters(in: .whitespaces))
        let matches = try await hasher.verify(password, hash: user?.passwordHash)
        guard let user, matches else {
            try await store.recordLoginFailure(keys: [accountKey, addressKey], at: nowMs)
            return .refused
        }
        try await store.clearLoginFailures(key: accountKey)
        let token = SessionToken.make()
        let session = DashboardSession(
            idHash: SessionToken.hash(token), userID: user.id, csrfToken: SessionToken.make(), createdAt: nowMs,
            expiresAt: nowMs + Self.sessionLifetimeMs, lastSeenAt: nowMs)
        try await store.createSession(session)
        let memberships = try await store.memberships(userID: user.id)
        return .signedIn(token: token, session: session, user: user, memberships: memberships)
    }

    /// The user behind a session cookie, nil for an unknown or expired one.
    public func signedIn(token: String, nowMs: Int64 = WallClock.nowMs()) async throws -> SignedInUser? {
        guard let found = try await store.activeSession(idHash: SessionToken.hash(token), now: nowMs) else { return nil }
        let (session, user) = found
        return SignedInUser(session: session, user: user, memberships: try await store.memberships(userID: user.id))
    }

    public func logOut(token: String) async throws {
        try await store.deleteSession(idHash: SessionToken.hash(token))
    }
}
