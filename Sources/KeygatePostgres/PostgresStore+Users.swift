import KeygateCore
import KeygateStore
import PostgresNIO

/// Dashboard users, memberships, sessions and login failures on PostgreSQL. A taken email is found with
/// `ON CONFLICT ((lower(email))) DO NOTHING RETURNING` (the unique index `users_by_email` is on `lower(email)`),
/// a membership is an upsert, and a membership of an unknown user or organisation is the foreign key's
/// violation (SQLSTATE 23503) turned into `.notFound`. Several failures are inserted with one `unnest`.
extension PostgresStore {
    public func createUser(email: String, passwordHash: String) async throws -> DashboardUser {
        let user = DashboardUser(id: Identifiers.make("usr"), email: email, passwordHash: passwordHash, createdAt: WallClock.nowMs())
        let inserted = try await read { connection in
            try await connection.query(
                """
                INSERT INTO users (id, email, password_hash, created_at) VALUES (\(user.id), \(user.email), \(user.passwordHash), \(user.createdAt))
                ON CONFLICT ((lower(email))) DO NOTHING RETURNING id
                """, logger: logger
            ).collect().count
        }
        guard inserted == 1 else { throw StoreError.duplicate("user '\(email)'") }
        return user
    }

    public func user(email: String) async throws -> DashboardUser? {
        try await read { connection in
            try await connection.query(
                "SELECT id, email, password_hash, created_at FROM users WHERE lower(email) = lower(\(email))", logger: logger
            ).collect().first.map { try Self.user($0.makeRandomAccess(), at: 0) }
        }
    }

    public func setMembership(userID: String, organizationID: String, role: MemberRole) async throws {
        try await read { connection in
            do {
                _ = try await connection.query(
                    """
                    INSERT INTO memberships (user_id, organization_id, role, created_at)
                    VALUES (\(userID), \(organizationID), \(role.rawValue), \(WallClock.nowMs()))
                    ON CONFLICT (user_id, organization_id) DO UPDATE SET role = excluded.role
                    """, logger: logger
                ).collect()
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.foreignKeyViolation.raw {
                throw StoreError.notFound("user or organisation")
            }
        }
    }

    public func removeMembership(userID: String, organizationID: String) async throws -> Bool {
        try await read { connection in
            try await connection.query(
                "DELETE FROM memberships WHERE user_id = \(userID) AND organization_id = \(organizationID) RETURNING role", logger: logger
            ).collect().count > 0
        }
    }

    public func memberships(userID: String) async throws -> [Membership] {
        try await memberships(
            "\(unescaped: Self.membershipSelect) WHERE m.user_id = \(userID) ORDER BY o.slug COLLATE \"C\"")
    }

    public func members(organizationID: String) async throws -> [Membership] {
        try await memberships(
            "\(unescaped: Self.membershipSelect) WHERE m.organization_id = \(organizationID) ORDER BY lower(u.email) COLLATE \"C\"")
    }

    public func createSession(_ session: DashboardSession) async throws {
        try await transaction { connection in
            _ = try await connection.query(
                """
                INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, last_seen_at)
                VALUES (\(session.idHash), \(session.userID), \(session.csrfToken), \(session.createdAt), \(session.expiresAt),
                  \(session.lastSeenAt))
                """, logger: logger
            ).collect()
            // Expired sessions go as new ones come, so the table holds live sessions only.
            _ = try await connection.query("DELETE FROM sessions WHERE expires_at <= \(session.createdAt)", logger: logger).collect()
        }
    }

    public func activeSession(idHash: String, now: Int64) async throws -> (DashboardSession, DashboardUser)? {
        let found = try await read { connection -> (DashboardSession, DashboardUser)? in
            guard
                let row = try await connection.query(
                    """
                    SELECT u.id, u.email, u.password_hash, u.created_at, s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at,
                      s.last_seen_at
                    FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = \(idHash) AND s.expires_at > \(now)
                    """, logger: logger
                ).collect().first
            else { return nil }
            let r = row.makeRandomAccess()
            let session = DashboardSession(
                idHash: try r[4].decode(String.self), userID: try r[5].decode(String.self), csrfToken: try r[6].decode(String.self),
                createdAt: try r[7].decode(Int64.self), expiresAt: try r[8].decode(Int64.self), lastSeenAt: try r[9].decode(Int64.self))
            return (session, try Self.user(r, at: 0))
        }
        guard var (session, user) = found else { return nil }
        // A page view is a read: the last use is written at most once a minute, not on every request. GREATEST
        // keeps a slower replica's older `now` from moving it back.
        if now - session.lastSeenAt >= Self.lastSeenResolutionMs {
            try await read { connection in
                _ = try await connection.query(
                    "UPDATE sessions SET last_seen_at = GREATEST(last_seen_at, \(now)) WHERE id_hash = \(idHash)", logger: logger
                ).collect()
            }
            session.lastSeenAt = now
        }
        return (session, user)
    }

    static let lastSeenResolutionMs: Int64 = 60_000

    public func deleteSession(idHash: String) async throws {
        try await read { connection in
            _ = try await connection.query("DELETE FROM sessions WHERE id_hash = \(idHash)", logger: logger).collect()
        }
    }

    public func recordLoginFailure(keys: [String], at: Int64) async throws {
        try await transaction { connection in
            _ = try await connection.query(
                "INSERT INTO login_failures (key, at) SELECT key, \(at) FROM unnest(\(keys)::text[]) AS k(key)", logger: logger
            ).collect()
            _ = try await connection.query("DELETE FROM login_failures WHERE at < \(at - 86_400_000)", logger: logger).collect()
        }
    }

    public func loginFailures(key: String, since: Int64) async throws -> LoginFailures {
        try await read { connection in
            guard
                let row = try await connection.query(
                    "SELECT count(*), max(at) FROM login_failures WHERE key = \(key) AND at >= \(since)", logger: logger
                ).collect().first
            else { return LoginFailures(count: 0, latestAt: nil) }
            let (count, latest) = try row.decode((Int64, Int64?).self)
            return LoginFailures(count: Int(count), latestAt: latest)
        }
    }

    public func clearLoginFailures(key: String) async throws {
        try await read { connection in
            _ = try await connection.query("DELETE FROM login_failures WHERE key = \(key)", logger: logger).collect()
        }
    }

    /// A membership's role, then its user (4 columns from 1) and its organisation (4 columns from 5).
    private static let membershipSelect = """
        SELECT m.role, u.id, u.email, u.password_hash, u.created_at, o.id, o.slug, o.name, o.created_at
        FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id
        """

    private func memberships(_ query: PostgresQuery) async throws -> [Membership] {
        try await read { connection in
            try await connection.query(query, logger: logger).collect().map { row in
                let r = row.makeRandomAccess()
                return Membership(
                    organization: try Self.organization(r, at: 5), user: try Self.user(r, at: 1),
                    role: MemberRole(rawValue: try r[0].decode(String.self)) ?? .member)
            }
        }
    }

    /// A user from the four columns `id, email, password_hash, created_at` starting at `start`.
    static func user(_ row: PostgresRandomAccessRow, at start: Int) throws -> DashboardUser {
        DashboardUser(
            id: try row[start].decode(String.self), email: try row[start + 1].decode(String.self),
            passwordHash: try row[start + 2].decode(String.self), createdAt: try row[start + 3].decode(Int64.self))
    }
}
