import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// The BYOK keys section, usage and ledger of `/{slug}/billing`, `/{slug}/settings` and `/{slug}/lab`, driven
/// as a browser would (forms with the CSRF token, the lab's `fetch` with `X-CSRF-Token`).
@Suite struct DashboardPagesTests {
    static let password = "correct horse battery staple"
    static let orgKey = "sk-acme-own-key-0123456789"

    /// A harness with `ada@example.com` (admin of acme) and `bob@example.com` (member), both signed in, and a
    /// second organisation `other`.
    func withPages(_ body: (GatewayHarness, DashboardBrowser, DashboardBrowser) async throws -> Void) async throws {
        try await withHarness(environment: DashboardLoginTests.cheapHashing) { h in
            let accounts = h.gateway.accounts
            _ = try await AdminService(store: h.gateway.store).createOrganization(slug: "other", name: "Other")
            _ = try await accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            _ = try await accounts.addUser(organizationSlug: "acme", email: "bob@example.com", password: Self.password, role: .member)
            let ada = DashboardBrowser(baseURL: h.baseURL)
            let bob = DashboardBrowser(baseURL: h.baseURL)
            defer {
                Task { [ada, bob] in
                    await ada.shutdown()
                    await bob.shutdown()
                }
            }
            #expect(try await ada.logIn(email: "ada@example.com", password: Self.password).status == 303)
            #expect(try await bob.logIn(email: "bob@example.com", password: Self.password).status == 303)
            try await body(h, ada, bob)
        }
    }

    func token(_ browser: DashboardBrowser, _ path: String = "/acme/billing") async throws -> String {
        try #require(try await browser.get(path).metaToken)
    }

    @Test func anAdminAddsAKeyCheckedWithTheProviderSeesOnlyItsPreviewAndManagesIt() async throws {
        try await withPages { h, ada, bob in
            h.fake.accept(Self.orgKey)
            let csrf = try await token(ada)
            let empty = try await ada.get("/acme/billing")
            #expect(empty.text.contains(#"id="byok-add""#))
            #expect(empty.text.contains(#"<option value="aws""#) && empty.text.contains(#"data-json="yes""#))
            #expect(empty.text.contains("accessKeyId"), "the aws example shape is shown")

            let refused = try await ada.post(
                "/acme/billing/byok-keys",
                form: [("csrf_token", csrf), ("provider", "openai"), ("secret", "sk-not-accepted-9876543210"), ("validate", "on")])
            #expect(refused.status == 400)
            #expect(refused.text.contains("OpenAI refused this key (HTTP 401). Check that it was copied whole"))
            #expect(!refused.text.contains("sk-not-accepted-9876543210"), "a refused secret is not rendered back")
            let blank = try await ada.post("/acme/billing/byok-keys", form: [("csrf_token", csrf), ("provider", "openai"), ("secret", "  ")])
            #expect(blank.status == 400 && blank.text.contains("the key field is empty"))
            let badJSON = try await ada.post(
                "/acme/billing/byok-keys", form: [("csrf_token", csrf), ("provider", "aws"), ("secret_json", "{accessKeyId: nope")])
            #expect(badJSON.status == 400 && badJSON.text.contains("is not a JSON object"))
            let missingField = try await ada.post(
                "/acme/billing/byok-keys",
                form: [("csrf_token", csrf), ("provider", "aws"), ("secret_json", #"{"accessKeyId": "AKIA0000000000000001"}"#)])
            #expect(missingField.status == 400 && missingField.text.contains("secretAccessKey"))
            let unknown = try await ada.post("/acme/billing/byok-keys", form: [("csrf_token", csrf), ("provider", "nope"), ("secret", Self.orgKey)])
            #expect(unknown.status == 400)
            #expect(try await h.gateway.store.byokKeys(organizationID: h.organization.id).isEmpty, "refusals store nothing")

            let noToken = try await ada.post("/acme/billing/byok-keys", form: [("provider", "openai"), ("secret", Self.orgKey)])
            #expect(noToken.status == 403)
            let member = try await bob.post(
                "/acme/billing/byok-keys", form: [("csrf_token", try await token(bob)), ("provider", "openai"), ("secret", Self.orgKey)])
            #expect(member.status == 403)
            #expect(!(try await bob.get("/acme/billing")).text.contains(#"id="byok-add""#), "members see no add form")

            let added = try await ada.post(
                "/acme/billing/byok-keys", form: [("csrf_token", csrf), ("provider", "openai"), ("secret", Self.orgKey), ("validate", "on")])
            #expect(added.status == 303)
            let key = try #require(try await h.gateway.store.byokKeys(organizationID: h.organization.id).first)
            #expect(key.lastValidationResult == "ok")
            let listed = try await ada.get("/acme/billing?saved=byok-added")
            #expect(listed.text.contains(#"data-key-id="\#(key.id)""#))
            #expect(listed.text.contains(key.preview) && listed.text.contains("checked with the provider on"))
            #expect(listed.text.contains(#"id="byok-notice""#))
            #expect(!listed.text.contains(Self.orgKey), "never the secret")

            let ask = try await ada.post("/acme/billing/byok-keys/\(key.id)/deactivate", form: [("csrf_token", csrf)])
            #expect(ask.status == 200 && ask.text.contains(#"id="confirm""#) && ask.text.contains("paid with credits"))
            #expect(try await h.gateway.store.byokKey(id: key.id, organizationID: h.organization.id)?.status == .active, "asking changes nothing")
            let done = try await ada.post("/acme/billing/byok-keys/\(key.id)/deactivate", form: [("csrf_token", csrf), ("confirmed", "yes")])
            #expect(done.status == 303)
            #expect(try await h.gateway.store.byokKey(id: key.id, organizationID: h.organization.id)?.status == .inactive)
            #expect(try await ada.post("/acme/billing/byok-keys/\(key.id)/activate", form: [("csrf_token", csrf)]).status == 303)
            #expect(try await h.gateway.store.byokKey(id: key.id, organizationID: h.organization.id)?.status == .active)

            let elsewhere = try await ada.post("/other/billing/byok-keys/\(key.id)/remove", form: [("csrf_token", csrf), ("confirmed", "yes")])
            #expect(elsewhere.status == 404, "another organisation's slug is not found")
            let missing = try await ada.post("/acme/billing/byok-keys/byok_nope/remove", form: [("csrf_token", csrf), ("confirmed", "yes")])
            #expect(missing.status == 404 && missing.text.contains("No BYOK key"))
            #expect(try await ada.post("/acme/billing/byok-keys/\(key.id)/remove", form: [("csrf_token", csrf)]).text.contains("deleted for good"))
            #expect(try await ada.post("/acme/billing/byok-keys/\(key.id)/remove", form: [("csrf_token", csrf), ("confirmed", "yes")]).status == 303)
            #expect(try await h.gateway.store.byokKeys(organizationID: h.organization.id).isEmpty)
        }
    }

    @Test func theLabStreamsThroughTheGatewayAndItsReceiptShowsThePathCostAndBalance() async throws {
        try await withPages { h, ada, bob in
            let page = try await ada.get("/acme/lab")
            #expect(page.status == 200 && page.text.contains(#"<option value="openai/gpt-5.6-luna">"#))
            let csrf = try #require(page.metaToken)
            let body =
                #"{"model":"openai/gpt-5.6-luna","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}"#
            let json = [("content-type", "application/json")]
            let noToken = try await ada.send(.POST, "/acme/lab/chat", body: body, headers: json)
            #expect(noToken.status == 403 && noToken.text.contains("csrf_rejected"))
            let member = try await bob.send(
                .POST, "/acme/lab/chat", body: body, headers: json + [("x-csrf-token", try await token(bob, "/acme/lab"))])
            #expect(member.status == 403 && member.text.contains("organization_admin_required"))
            let signedOut = DashboardBrowser(baseURL: h.baseURL)
            #expect(try await signedOut.send(.POST, "/acme/lab/chat", body: body, headers: json).status == 401)
            await signedOut.shutdown()
            let foreign = try await ada.send(
                .POST, "/acme/lab/chat", body: body, headers: json + [("x-csrf-token", csrf), ("origin", "https://evil.example")])
            #expect(foreign.status == 403)
            #expect(try await ada.send(.POST, "/other/lab/chat", body: body, headers: json + [("x-csrf-token", csrf)]).status == 404)

            let before = try await h.gateway.store.balance(organizationID: h.organization.id)
            let sent = try await ada.send(.POST, "/acme/lab/chat", body: body, headers: json + [("x-csrf-token", csrf)])
            #expect(sent.status == 200)
            #expect(sent.headers.first(name: "x-keygate-billing") == "credits")
            #expect(ssePayloads(sent.text).last == "[DONE]")
            let requestID = try #require(sent.headers.first(name: "x-request-id"))
            var receipt = ""
            for _ in 0..<100 {
                receipt = try await ada.get("/acme/lab/receipt/\(requestID)").text
                if receipt.contains(#""ready":true"#) { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let after = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(after.available < before.available, "billed like any request")
            #expect(receipt.contains(#""path":"credits""#))
            #expect(receipt.contains(#""available":"\#(after.available)""#))
            let record = try #require(try await h.gateway.store.usageRecord(requestID: requestID, organizationID: h.organization.id))
            let labKey = try #require(try await h.gateway.store.apiKeys(organizationID: h.organization.id).first { $0.id == record.apiKeyID })
            #expect(labKey.name == "Dashboard lab (ada@example.com)" && !labKey.isAdmin)
            #expect(try await ada.get("/other/lab/receipt/\(requestID)").status == 404)
            #expect(try await bob.get("/acme/lab/receipt/\(requestID)").text.contains(#""ready":true"#), "members read receipts")

            // The chart and the tables count the lab's request.
            let billing = try await ada.get("/acme/billing")
            #expect(billing.text.contains(#"id="usage-chart""#))
            #expect(billing.text.contains(#"data-requests="1""#))
            #expect(billing.text.contains("openai/gpt-5.6-luna"))
            #expect(billing.text.contains("Request charged"), "the ledger lists the settlement")

            // A suspended organisation's lab is refused like its `/v1` calls (once the 1 s suspension cache turns over).
            try await h.gateway.store.setSuspension(
                OrganizationSuspension(reason: "unpaid", suspendedAt: WallClock.nowMs()), organizationID: h.organization.id)
            try await Task.sleep(for: .milliseconds(1_200))
            let suspended = try await ada.send(.POST, "/acme/lab/chat", body: body, headers: json + [("x-csrf-token", csrf)])
            #expect(suspended.status == 403 && suspended.text.contains("organization_suspended"), "\(suspended.text)")
        }
    }

    @Test func settingsCreateAKeyShownOnceRevokeItAndSwitchTheFallback() async throws {
        try await withPages { h, ada, bob in
            let csrf = try await token(ada, "/acme/settings")
            let long = String(repeating: "x", count: 81)
            let refused = try await ada.post("/acme/settings/api-keys", form: [("csrf_token", csrf), ("name", long)])
            #expect(refused.status == 400 && refused.text.contains("at most 80 characters") && refused.text.contains(long))
            let created = try await ada.post("/acme/settings/api-keys", form: [("csrf_token", csrf), ("name", "production")])
            #expect(created.status == 200)
            let plaintext = try #require(DashboardBrowser.Page.capture(#"<code id="new-key">([^<]+)</code>"#, in: created.text))
            #expect(created.text.contains(#"id="copy-key""#))
            let models = try await h.request(.GET, "/v1/models", key: .some(plaintext))
            #expect(models.status == 200, "the new key works")
            let again = try await ada.get("/acme/settings")
            #expect(!again.text.contains(plaintext) && !again.text.contains(#"id="new-key""#), "shown once")
            let record = try #require(try await h.gateway.store.apiKeys(organizationID: h.organization.id).first { $0.name == "production" })
            #expect(again.text.contains(record.preview))
            #expect(try await bob.post("/acme/settings/api-keys", form: [("csrf_token", try await token(bob, "/acme/settings"))]).status == 403)

            #expect(try await ada.post("/acme/settings/api-keys/\(record.id)/revoke", form: [("csrf_token", csrf)]).text.contains(#"id="confirm""#))
            #expect(
                try await ada.post("/acme/settings/api-keys/\(record.id)/revoke", form: [("csrf_token", csrf), ("confirmed", "yes")]).status == 303)
            var status = 200
            for _ in 0..<40 where status != 401 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await h.request(.GET, "/v1/models", key: .some(plaintext)).status
            }
            #expect(status == 401, "a revoked key stops within the cache's second")
            let twice = try await ada.post("/acme/settings/api-keys/\(record.id)/revoke", form: [("csrf_token", csrf), ("confirmed", "yes")])
            #expect(twice.status == 400 && twice.text.contains("revoked already"))

            #expect(try await ada.post("/acme/settings/fallback", form: [("csrf_token", csrf), ("byok_fallback_on_rate_limit", "on")]).status == 303)
            #expect(try await h.gateway.store.organizationSettings(organizationID: h.organization.id).byokFallbackOnRateLimit)
            #expect(try await ada.get("/acme/settings?saved=fallback").text.contains(#"id="fallback-notice""#))
            #expect(try await ada.post("/acme/settings/fallback", form: [("csrf_token", csrf)]).status == 303)
            #expect(try await !h.gateway.store.organizationSettings(organizationID: h.organization.id).byokFallbackOnRateLimit)
        }
    }

    @Test func membersAreListedAddedWithValidationAndRemovedButNeverOneself() async throws {
        try await withPages { h, ada, bob in
            let csrf = try await token(ada, "/acme/settings")
            let page = try await ada.get("/acme/settings")
            #expect(page.text.contains("ada@example.com") && page.text.contains("bob@example.com"))
            let badEmail = try await ada.post("/acme/settings/members", form: [("csrf_token", csrf), ("email", "nope"), ("password", Self.password)])
            #expect(badEmail.status == 400 && badEmail.text.contains("is not an email address"))
            let shortPassword = try await ada.post(
                "/acme/settings/members", form: [("csrf_token", csrf), ("email", "cy@example.com"), ("password", "short")])
            #expect(shortPassword.status == 400 && shortPassword.text.contains("at least 10 characters"))
            #expect(shortPassword.text.contains(#"value="cy@example.com""#), "the typed email stays")
            let badRole = try await ada.post(
                "/acme/settings/members", form: [("csrf_token", csrf), ("email", "cy@example.com"), ("role", "owner"), ("password", Self.password)])
            #expect(badRole.status == 400)
            let added = try await ada.post(
                "/acme/settings/members", form: [("csrf_token", csrf), ("email", "cy@example.com"), ("role", "member"), ("password", Self.password)])
            #expect(added.status == 303)
            let cy = DashboardBrowser(baseURL: h.baseURL)
            #expect(try await cy.logIn(email: "cy@example.com", password: Self.password).location == "/acme/billing")
            await cy.shutdown()

            let adaUser = try #require(try await h.gateway.store.user(email: "ada@example.com"))
            let remove = { (id: String, confirmed: Bool) in
                try await ada.post(
                    "/acme/settings/members/\(id)/remove", form: [("csrf_token", csrf)] + (confirmed ? [("confirmed", "yes")] : []))
            }
            let me = try await remove(adaUser.id, true)
            #expect(me.status == 400 && me.text.contains("You cannot remove yourself"))
            let bobUser = try #require(try await h.gateway.store.user(email: "bob@example.com"))
            #expect(try await remove(bobUser.id, false).text.contains(#"id="confirm""#))
            #expect(try await remove(bobUser.id, true).status == 303)
            #expect(try await bob.get("/acme/billing").status == 404, "a removed member sees the organisation no more")
            let nowhere = try await bob.get("/login")
            #expect(nowhere.status == 200 && nowhere.text.contains("not a member of any organisation yet"), "said, not a bare form")
        }
    }

    @Test func theSettingsJSONRoutesUseTheSameServices() async throws {
        try await withPages { h, ada, bob in
            let (_, adminKey) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "ops", isAdmin: true)
            let created = try await h.request(.POST, "/api/orgs/acme/api-keys", body: #"{"name":"ci","admin":false}"#, key: .some(adminKey))
            #expect(created.status == 201)
            let plaintext = try #require(created.json?["key"] as? String)
            #expect(try await h.request(.GET, "/v1/models", key: .some(plaintext)).status == 200)
            let listed = try await h.request(.GET, "/api/orgs/acme/api-keys", key: .some(adminKey))
            #expect(listed.status == 200 && listed.text.contains(#""name":"ci""#) && !listed.text.contains(plaintext))
            let bad = try await h.request(.POST, "/api/orgs/acme/api-keys", body: #"{"admin":"yes"}"#, key: .some(adminKey))
            #expect(bad.status == 400 && bad.error?["param"] as? String == "admin")
            let id = try #require(created.json?["id"] as? String)
            #expect(try await h.request(.POST, "/api/orgs/acme/api-keys/\(id)/revoke", key: .some(adminKey)).status == 200)
            let again = try await h.request(.POST, "/api/orgs/acme/api-keys/\(id)/revoke", key: .some(adminKey))
            #expect(again.status == 404 && again.error?["code"] as? String == "api_key_not_found")

            let settings = try await h.request(.PUT, "/api/orgs/acme/settings", body: #"{"byok_fallback_on_rate_limit":true}"#, key: .some(adminKey))
            #expect(settings.status == 200 && settings.json?["byok_fallback_on_rate_limit"] as? Bool == true)
            #expect(try await h.gateway.store.organizationSettings(organizationID: h.organization.id).byokFallbackOnRateLimit)
            let members = try await h.request(.GET, "/api/orgs/acme/members", key: .some(adminKey))
            #expect(members.text.contains("ada@example.com") && members.text.contains(#""role":"member""#))

            // A member's session reads, but does not create.
            #expect(try await bob.get("/api/orgs/acme/api-keys").status == 200)
            let denied = try await bob.send(
                .POST, "/api/orgs/acme/api-keys", body: "{}",
                headers: [("content-type", "application/json"), ("x-csrf-token", try await token(bob))])
            #expect(denied.status == 403)
            _ = ada
        }
    }

    @Test func theLedgerIsPagedTwentyFiveAtATimeNewestFirst() async throws {
        try await withPages { h, ada, _ in
            for index in 1...30 {
                try await h.gateway.store.addCredits(
                    organizationID: h.organization.id, amount: .credits(1), kind: .grant, reason: "grant \(index)", trialExpiresAt: nil)
            }
            let entries = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 1000)
            let first = try await ada.get("/acme/billing")
            #expect(first.text.components(separatedBy: #"<tr class="entry">"#).count - 1 == 25)
            #expect(first.text.contains("grant 30") && !first.text.contains("grant 5<"), "newest first")
            #expect(first.text.contains(#"class="older" href="/acme/billing?ledger_page=2#ledger""#))
            #expect(!first.text.contains("ledger_page=0"))
            let second = try await ada.get("/acme/billing?ledger_page=2")
            #expect(second.text.components(separatedBy: #"<tr class="entry">"#).count - 1 == entries.count - 25)
            #expect(second.text.contains("grant 5<") && second.text.contains(#"class="newer" href="/acme/billing?ledger_page=1#ledger""#))
            #expect(!second.text.contains("ledger_page=3"))
            #expect(try await ada.get("/acme/billing?ledger_page=9").text.contains("No entries on this page."))
            #expect(try await ada.get("/acme/billing?ledger_page=-4").text.contains("grant 30"), "a bad page number is page 1")
        }
    }
}
