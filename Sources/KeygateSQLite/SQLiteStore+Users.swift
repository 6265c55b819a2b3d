import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Dashboard users, memberships, sessions and login failures on SQLite.
extension SQLiteStore {
    public func createUser(email: String, passwordHash: String) async throws -> DashboardUser {
        let user = DashboardUser(id: Identifiers.make("usr"), email: email, passwordHash: passwordHash, createdAt: WallClock.nowMs())
        do {
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
                    arguments: [user.id, user.email, user.passwordHash, user.createdAt])
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.duplicate("user '\(email)'")
        }
        return user
    }

    public func user(email: String) async throws -> DashboardUser? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT id, email, password_hash, created_at FROM users WHERE lower(email) = lower(?)", arguments: [email]
            ).map { Self.user(from: $0) }
        }
    }

    public func setMembership(userID: String, organizationID: String, role: MemberRole) async throws {
        do {
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO memberships (user_id, organization_id, role, created_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (user_id, organization_id) DO UPDATE SET role = excluded.role
                        """,
                    arguments: [userID, organizationID, role.rawValue, WallClock.nowMs()])
            }
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw StoreError.notFound("user or organisation")
        }
    }

    public func removeMembership(userID: String, organizationID: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM memberships WHERE user_id = ? AND organization_id = ?", arguments: [userID, organizationID])
            return db.changesCount > 0
        }
    }

    public func memberships(userID: String) async throws -> [Membership] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: Self.membershipSelect + " WHERE m.user_id = ? ORDER BY o.slug", arguments: [userID])
                .map { Self.membership(from: $0) }
        }
    }

    public func members(organizationID: String) async throws -> [Membership] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: Self.membershipSelect + " WHERE m.organization_id = ? ORDER BY lower(u.email)", arguments: [organizationID]
            ).map { Self.membership(from: $0) }
        }
    }

    public func createSession(_ session: DashboardSession) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    session.idHash, session.userID, session.csrfToken, session.createdAt, session.expiresAt, session.lastSeenAt,
                ])
            // Expired sessions go as new ones come, so the table holds live sessions only.
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at <= ?", arguments: [session.createdAt])
        }
    }

    public func activeSession(idHash: String, now: Int64) async throws -> (DashboardSession, DashboardUser)? {
        let found = try await pool.read { db -> (DashboardSession, DashboardUser)? in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT s.id_hash, s.user_id, s.csrf_token, s.created_at, s.expires_at, s.last_seen_at,
                               u.id, u.email, u.password_hash, u.created_at AS user_created_at
                        FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.expires_at > ?
                        """,
                    arguments: [idHash, now])
            else { return nil }
            let session = DashboardSession(
                idHash: row["id_hash"], userID: row["user_id"], csrfToken: row["csrf_token"], createdAt: row["created_at"],
                expiresAt: row["expires_at"], lastSeenAt: row["last_seen_at"])
            let user = DashboardUser(id: row["id"], email: row["email"], passwordHash: row["password_hash"], createdAt: row["user_created_at"])
            return (session, user)
        }
        guard var (session, user) = found else { return nil }
        // A page view is a read: the last use is written at most once a minute, not on every request.
        if now - session.lastSeenAt >= Self.lastSeenResolutionMs {
            try await pool.write { db in
                try db.execute(sql: "UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", arguments: [now, idHash])
            }
            session.lastSeenAt = now
        }
        return (session, user)
    }

    static let lastSeenResolutionMs: Int64 = 60_000

    public func deleteSession(idHash: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE id_hash = ?", arguments: [idHash])
        }
    }

    public func recordLoginFailure(keys: [String], at: Int64) async throws {
        try await pool.write { db in
            for key in keys {
                try db.execute(sql: "INSERT INTO login_failures (key, at) VALUES (?, ?)", arguments: [key, at])
            }
            try db.execute(sql: "DELETE FROM login_failures WHERE at < ?", arguments: [at - 86_400_000])
        }
    }

    public func loginFailures(key: String, since: Int64) async throws -> LoginFailures {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT count(*) AS n, max(at) AS latest FROM login_failures WHERE key = ? AND at >= ?", arguments: [key, since])
            else { return LoginFailures(count: 0, latestAt: nil) }
            let count: Int = row["n"]
            let latest: Int64? = row["latest"]
            return LoginFailures(count: count, latestAt: latest)
        }
    }

    public func clearLoginFailures(key: String) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM login_failures WHERE key = ?", arguments: [key])
        }
    }

    private static let membershipSelect = """
        SELECT m.role, u.id AS u_id, u.email AS u_email, u.password_hash AS u_password_hash, u.created_at AS u_created_at,
               o.id AS o_id, o.slug AS o_slug, o.name AS o_name, o.created_at AS o_created_at
        FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id
        """

    static func user(from row: Row, prefix: String = "") -> DashboardUser {
        DashboardUser(
            id: row[prefix + "id"], email: row[prefix + "email"], passwordHash: row[prefix + "password_hash"],
            createdAt: row[prefix + "created_at"])
    }

    static func membership(from row: Row) -> Membership {
        Membership(
            organization: organization(from: row, prefix: "o_"), user: user(from: row, prefix: "u_"),
            role: MemberRole(rawValue: row["role"]) ?? .member)
    }
}
