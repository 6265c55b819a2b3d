import Foundation
import KeygateCore
import KeygateDashboard
import KeygateServer
import KeygateStore
import Testing

/// The login back-off, per account and per client address, on a real store (cheap bcrypt cost for speed).
@Suite struct LoginBackoffTests {
    static let password = "correct horse battery staple"

    func withAccounts(_ body: (DashboardAccounts) async throws -> Void) async throws {
        try await StoreBackend.sqlite.open().use { database in
            try await database.store.migrate()
            _ = try await database.store.createOrganization(slug: "acme", name: "Acme")
            let accounts = DashboardAccounts(store: database.store, hasher: PasswordHasher(cost: 4))
            _ = try await accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            try await body(accounts)
            try await database.store.close()
        }
    }

    @Test func anAccountIsHeldBackAfterFiveFailuresFromAnyAddresses() async throws {
        try await withAccounts { accounts in
            for i in 1...5 {
                let outcome = try await accounts.logIn(email: "ada@example.com", password: "wrong", clientAddress: "10.0.0.\(i)")
                guard case .refused = outcome else { Issue.record("attempt \(i) was not simply refused"); return }
            }
            let held = try await accounts.logIn(email: "ADA@example.com", password: Self.password, clientAddress: "10.0.0.99")
            guard case .throttled(let seconds) = held else { Issue.record("the right password went through during the back-off"); return }
            #expect((1...30).contains(seconds))
            let later = try await accounts.logIn(
                email: "ada@example.com", password: Self.password, clientAddress: "10.0.0.99", nowMs: WallClock.nowMs() + 31_000)
            guard case .signedIn = later else { Issue.record("the back-off did not end"); return }
        }
    }

    @Test func anAddressIsHeldBackAfterFiveFailuresOnAnyAccounts() async throws {
        try await withAccounts { accounts in
            for i in 1...5 {
                _ = try await accounts.logIn(email: "guess\(i)@example.com", password: "wrong", clientAddress: "192.0.2.7")
            }
            guard case .throttled = try await accounts.logIn(email: "ada@example.com", password: Self.password, clientAddress: "192.0.2.7")
            else { Issue.record("the address was not held back"); return }
            guard case .signedIn = try await accounts.logIn(email: "ada@example.com", password: Self.password, clientAddress: "192.0.2.8")
            else { Issue.record("another address was held back too"); return }
        }
    }

    @Test func theDelayGrowsWithEveryFurtherFailure() {
        let throttle = LoginThrottle()
        let now: Int64 = 10_000_000
        #expect(throttle.waitSeconds(after: (4, now), nowMs: now) == nil)
        #expect(throttle.waitSeconds(after: (5, now), nowMs: now) == 30)
        #expect(throttle.waitSeconds(after: (6, now), nowMs: now) == 60)
        #expect(throttle.waitSeconds(after: (7, now), nowMs: now) == 120)
        #expect(throttle.waitSeconds(after: (40, now), nowMs: now) == 900)
        #expect(throttle.waitSeconds(after: (5, now), nowMs: now + 30_000) == nil)
    }

    @Test func aSuccessClearsTheAccountsCount() async throws {
        try await withAccounts { accounts in
            for i in 1...4 { _ = try await accounts.logIn(email: "ada@example.com", password: "wrong", clientAddress: "10.1.0.\(i)") }
            guard case .signedIn = try await accounts.logIn(email: "ada@example.com", password: Self.password, clientAddress: "10.1.0.9")
            else { Issue.record("four failures already held the account back"); return }
            for i in 1...4 { _ = try await accounts.logIn(email: "ada@example.com", password: "wrong", clientAddress: "10.2.0.\(i)") }
            guard case .signedIn = try await accounts.logIn(email: "ada@example.com", password: Self.password, clientAddress: "10.3.0.1")
            else { Issue.record("the success did not clear the account's count"); return }
        }
    }

    @Test func tooShortPasswordsAndNonEmailsAreRefused() async throws {
        try await withAccounts { accounts in
            await #expect(throws: DashboardAccountError.self) {
                try await accounts.addUser(organizationSlug: "acme", email: "bob@example.com", password: "short", role: .member)
            }
            await #expect(throws: DashboardAccountError.self) {
                try await accounts.addUser(organizationSlug: "acme", email: "not-an-email", password: Self.password, role: .member)
            }
            await #expect(throws: DashboardAccountError.self) {
                try await accounts.addUser(organizationSlug: "nobody", email: "bob@example.com", password: Self.password, role: .member)
            }
        }
    }
}
