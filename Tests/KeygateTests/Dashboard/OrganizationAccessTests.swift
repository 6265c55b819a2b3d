import Foundation
import KeygateServer
import Testing

/// `/api/orgs/{slug}/…` with a dashboard session: members read, admins change (with the CSRF header), other
/// organisations answer 404, all in the OpenAI error format.
@Suite struct OrganizationAccessTests {
    static let password = "correct horse battery staple"

    func json(_ page: DashboardBrowser.Page) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(page.text.utf8))) as? [String: Any]
    }

    func errorCode(_ page: DashboardBrowser.Page) -> String? {
        (json(page)?["error"] as? [String: Any])?["code"] as? String
    }

    @Test func membersReadAdminsChangeWithTheCSRFHeader() async throws {
        try await withHarness(environment: DashboardLoginTests.cheapHashing) { h in
            _ = try await AdminService(store: h.gateway.store).createOrganization(slug: "beta", name: "Beta")
            _ = try await h.gateway.accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            _ = try await h.gateway.accounts.addUser(organizationSlug: "acme", email: "bob@example.com", password: Self.password, role: .member)
            let ada = DashboardBrowser(baseURL: h.baseURL)
            let bob = DashboardBrowser(baseURL: h.baseURL)
            defer {
                Task {
                    await ada.shutdown()
                    await bob.shutdown()
                }
            }
            #expect(try await ada.logIn(email: "ada@example.com", password: Self.password).status == 303)
            #expect(try await bob.logIn(email: "bob@example.com", password: Self.password).status == 303)
            let adaToken = try #require(try await ada.get("/acme/billing").metaToken)
            let bobToken = try #require(try await bob.get("/acme/billing").metaToken)

            let balance = try await bob.get("/api/orgs/acme/balance")
            #expect(balance.status == 200)
            #expect(json(balance)?.keys.contains("available") == true, "a member reads the balance")
            let other = try await bob.get("/api/orgs/beta/balance")
            #expect(other.status == 404)
            #expect(errorCode(other) == "organization_not_found")

            let path = "/api/orgs/acme/byok-keys/byok_nope"
            let memberWrite = try await bob.send(.DELETE, path, body: nil, headers: [("x-csrf-token", bobToken)])
            #expect(memberWrite.status == 403)
            #expect(errorCode(memberWrite) == "organization_admin_required")

            let noHeader = try await ada.send(.DELETE, path, body: nil, headers: [])
            #expect(noHeader.status == 403)
            #expect(errorCode(noHeader) == "csrf_rejected")
            let wrongHeader = try await ada.send(.DELETE, path, body: nil, headers: [("x-csrf-token", bobToken)])
            #expect(errorCode(wrongHeader) == "csrf_rejected", "another session's token is not this one's")
            let foreign = try await ada.send(.DELETE, path, body: nil, headers: [("x-csrf-token", adaToken), ("origin", "https://evil.example")])
            #expect(errorCode(foreign) == "csrf_rejected")
            let adminWrite = try await ada.send(.DELETE, path, body: nil, headers: [("x-csrf-token", adaToken)])
            #expect(adminWrite.status == 404, "past the policy: the key itself does not exist")
            #expect(errorCode(adminWrite) == "byok_key_not_found")

            let nobody = DashboardBrowser(baseURL: h.baseURL)
            let anonymous = try await nobody.get("/api/orgs/acme/balance")
            await nobody.shutdown()
            #expect(anonymous.status == 401, "no key and no session")
            // A key, when presented, decides alone: the harness's key is not an admin key.
            #expect(try await h.request(.GET, "/api/orgs/acme/balance").status == 403)
        }
    }
}
