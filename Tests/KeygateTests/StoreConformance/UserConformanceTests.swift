import Foundation
import KeygateCore
import KeygateStore
import Testing

/// What every `Store` backend must do for dashboard users, memberships, sessions and login failures. Each
/// test runs once per backend in `StoreBackend.all`.
@Suite struct UserConformanceTests {
    @Test(arguments: StoreBackend.all)
    func emailsAreUniqueWhateverTheirCase(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let user = try await store.createUser(email: "Ada@Example.com", passwordHash: "$2b$hash")
            #expect(user.id.hasPrefix("usr_"))
            #expect(try await store.user(email: "ada@example.COM") == user)
            #expect(try await store.user(email: "bob@example.com") == nil)
            await #expect(throws: StoreError.self) { try await store.createUser(email: "ADA@example.com", passwordHash: "x") }
        }
    }

    @Test(arguments: StoreBackend.all)
    func membershipsAreSetChangedAndRemoved(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let acme = try await store.createOrganization(slug: "acme", name: "Acme")
            let beta = try await store.createOrganization(slug: "beta", name: "Beta")
            let ada = try await store.createUser(email: "ada@example.com", passwordHash: "h")
            let bob = try await store.createUser(email: "bob@example.com", passwordHash: "h")
            try await store.setMembership(userID: ada.id, organizationID: beta.id, role: .member)
            try await store.setMembership(userID: ada.id, organizationID: acme.id, role: .member)
            try await store.setMembership(userID: ada.id, organizationID: acme.id, role: .admin)
            try await store.setMembership(userID: bob.id, organizationID: acme.id, role: .member)
            let adas = try await store.memberships(userID: ada.id)
            #expect(adas.map(\.organization.slug) == ["acme", "beta"])
            #expect(adas.map(\.role) == [.admin, .member])
            #expect(try await store.members(organizationID: acme.id).map(\.user.email) == ["ada@example.com", "bob@example.com"])
            #expect(try await store.removeMembership(userID: bob.id, organizationID: acme.id))
            #expect(try await store.removeMembership(userID: bob.id, organizationID: acme.id) == false)
            #expect(try await store.members(organizationID: acme.id).map(\.user.email) == ["ada@example.com"])
            await #expect(throws: StoreError.self) {
                try await store.setMembership(userID: "usr_nobody", organizationID: acme.id, role: .member)
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func sessionsExpireAreSeenFromAnotherProcessAndEnd(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let ada = try await store.createUser(email: "ada@example.com", passwordHash: "h")
            let session = DashboardSession(idHash: "aa11", userID: ada.id, csrfToken: "csrf", createdAt: 1000, expiresAt: 500_000, lastSeenAt: 1000)
            try await store.createSession(session)
            let other = try await database.openAnother()
            let (found, user) = try #require(try await other.activeSession(idHash: "aa11", now: 2000))
            #expect(user == ada)
            #expect(found.csrfToken == "csrf")
            #expect(found.lastSeenAt == 1000, "a use within a minute of the last is not written")
            #expect(try await other.activeSession(idHash: "aa11", now: 70_000)?.0.lastSeenAt == 70_000)
            #expect(try await store.activeSession(idHash: "aa11", now: 80_000)?.0.lastSeenAt == 70_000, "the last use is in the database")
            try await other.close()
            #expect(try await store.activeSession(idHash: "aa11", now: 500_000)?.0 == nil, "expired")
            #expect(try await store.activeSession(idHash: "bb22", now: 2000)?.0 == nil)
            try await store.deleteSession(idHash: "aa11")
            #expect(try await store.activeSession(idHash: "aa11", now: 2000)?.0 == nil)
        }
    }

    @Test(arguments: StoreBackend.all)
    func loginFailuresAreCountedInTheirWindowAndCleared(backend: StoreBackend) async throws {
        try await backend.withMigratedStore { database in
            let store = database.store
            let now = WallClock.nowMs()
            try await store.recordLoginFailure(keys: ["account:ada", "address:10.0.0.1"], at: now - 20 * 60_000)
            try await store.recordLoginFailure(keys: ["account:ada", "address:10.0.0.1"], at: now - 1000)
            try await store.recordLoginFailure(keys: ["address:10.0.0.1"], at: now)
            #expect(try await store.loginFailures(key: "account:ada", since: now - 15 * 60_000) == LoginFailures(count: 1, latestAt: now - 1000))
            #expect(try await store.loginFailures(key: "address:10.0.0.1", since: now - 30 * 60_000).count == 3)
            try await store.clearLoginFailures(key: "account:ada")
            #expect(try await store.loginFailures(key: "account:ada", since: 0) == LoginFailures(count: 0, latestAt: nil))
            #expect(try await store.loginFailures(key: "address:10.0.0.1", since: 0).count == 3)
        }
    }
}
