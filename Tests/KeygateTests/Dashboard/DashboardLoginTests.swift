import Foundation
import KeygateCore
import KeygateDashboard
import KeygateServer
import KeygateStore
import Testing

/// The dashboard's sign-in, sessions, CSRF and organisation isolation, through a real gateway.
@Suite struct DashboardLoginTests {
    static let password = "correct horse battery staple"
    /// bcrypt at its lowest cost: the suites run beside timing tests on two cores (the CLI test keeps cost 12).
    static let cheapHashing = ["KEYGATE_PASSWORD_HASH_COST": "4"]

    /// A harness with `ada@example.com` (admin of acme) and a browser; both stopped afterwards.
    func withDashboard(_ body: (GatewayHarness, DashboardBrowser) async throws -> Void) async throws {
        try await withHarness(environment: DashboardLoginTests.cheapHashing) { h in
            _ = try await h.gateway.accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            let browser = DashboardBrowser(baseURL: h.baseURL)
            do {
                try await body(h, browser)
            } catch {
                await browser.shutdown()
                throw error
            }
            await browser.shutdown()
        }
    }

    @Test func signingInOpensTheBillingPageOfTheFirstOrganisation() async throws {
        try await withDashboard { h, browser in
            let form = try await browser.get("/login")
            #expect(form.status == 200)
            #expect(
                form.headers.first(name: "content-security-policy")
                    == "default-src 'self'; form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'")
            #expect(form.headers.first(name: "x-content-type-options") == "nosniff")
            #expect(form.text.contains(#"<form method="post" action="/login""#))
            #expect(
                form.text.components(separatedBy: "<script").count == form.text.components(separatedBy: "<script src=\"/static/").count,
                "no inline script: the CSP forbids it")
            #expect(!form.text.contains("style="), "no inline style: the CSP forbids it")

            let signedIn = try await browser.post(
                "/login", form: [("email", "ADA@example.com"), ("password", Self.password), ("csrf_token", form.formToken ?? "")])
            #expect(signedIn.status == 303)
            #expect(signedIn.location == "/acme/billing")
            let cookie = try #require(signedIn.setCookies.first { $0.hasPrefix("kg_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"), "plain http: no Secure flag")

            let billing = try await browser.get("/acme/billing")
            #expect(billing.status == 200)
            #expect(billing.headers.first(name: "content-security-policy") != nil)
            for text in ["Available", "Reserved", "Total", "Trial credits", "1000", "ada@example.com", "Sign out"] {
                #expect(billing.text.contains(text), "the billing page shows \(text)")
            }
            #expect(billing.metaToken?.isEmpty == false, "the page carries the CSRF token for fetch")

            let css = try await browser.get("/static/dashboard.css")
            #expect(css.status == 200)
            #expect(css.headers.first(name: "content-type")?.hasPrefix("text/css") == true)
            // Signed in, the login page leads to the organisation.
            #expect(try await browser.get("/login").location == "/acme/billing")
        }
    }

    @Test func theSessionCookieIsSecureBehindAnHTTPSPublicURL() async throws {
        try await withHarness(environment: DashboardLoginTests.cheapHashing.merging(["KEYGATE_PUBLIC_URL": "https://keygate.example"]) { $1 }) { h in
            _ = try await h.gateway.accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .member)
            let browser = DashboardBrowser(baseURL: h.baseURL)
            let signedIn = try await browser.logIn(
                email: "ada@example.com", password: Self.password, headers: [("origin", "https://keygate.example")])
            await browser.shutdown()
            #expect(signedIn.status == 303)
            #expect(signedIn.setCookies.contains { $0.hasPrefix("kg_session=") && $0.contains("Secure") })
        }
    }

    @Test func aWrongPasswordAndAnUnknownEmailGetTheSameAnswer() async throws {
        try await withDashboard { _, browser in
            let wrong = try await browser.logIn(email: "ada@example.com", password: "not the password")
            let unknown = try await browser.logIn(email: "nobody@example.com", password: "not the password")
            for page in [wrong, unknown] {
                #expect(page.status == 401)
                #expect(page.text.contains("That email and password do not match an account"))
                #expect(!page.setCookies.contains { $0.hasPrefix("kg_session=") })
            }
            #expect(browser.cookies["kg_session"] == nil)
            #expect(try await browser.get("/acme/billing").location == "/login", "not signed in: to the login page")
        }
    }

    @Test func repeatedFailuresAreHeldBackWithAClearMessage() async throws {
        try await withDashboard { _, browser in
            for _ in 1...5 { #expect(try await browser.logIn(email: "ada@example.com", password: "not the password").status == 401) }
            let held = try await browser.logIn(email: "ada@example.com", password: Self.password)
            #expect(held.status == 429)
            #expect(held.text.contains("Too many failed sign-ins. Please wait"))
            #expect(browser.cookies["kg_session"] == nil, "the right password during the back-off opens no session")
        }
    }

    @Test func signingOutEndsTheSessionAndNeedsTheCSRFToken() async throws {
        try await withDashboard { h, browser in
            _ = try await browser.logIn(email: "ada@example.com", password: Self.password)
            let token = try #require(browser.cookies["kg_session"])
            let page = try await browser.get("/acme/billing")
            let csrf = try #require(page.formToken)

            #expect(try await browser.post("/logout", form: []).status == 403, "no CSRF token")
            #expect(try await browser.post("/logout", form: [("csrf_token", "x" + csrf)]).status == 403, "a wrong CSRF token")
            let foreign = try await browser.post("/logout", form: [("csrf_token", csrf)], headers: [("origin", "https://evil.example")])
            #expect(foreign.status == 403, "a foreign Origin")
            #expect(try await h.gateway.accounts.signedIn(token: token)?.user.email == "ada@example.com", "still signed in after the refusals")

            let out = try await browser.post("/logout", form: [("csrf_token", csrf)], headers: [("origin", h.baseURL)])
            #expect(out.status == 303)
            #expect(out.location == "/login")
            #expect(try await h.gateway.accounts.signedIn(token: token)?.user.email == nil, "the session is gone from the database")
            browser.cookies["kg_session"] = token
            #expect(try await browser.get("/acme/billing").location == "/login", "the old cookie opens nothing")
        }
    }

    @Test func theLoginFormNeedsItsTokenAndOurOrigin() async throws {
        try await withDashboard { _, browser in
            let noToken = try await browser.post("/login", form: [("email", "ada@example.com"), ("password", Self.password)])
            #expect(noToken.status == 403)
            let form = try await browser.get("/login")
            let forged = try await browser.post(
                "/login", form: [("email", "ada@example.com"), ("password", Self.password), ("csrf_token", (form.formToken ?? "") + "x")])
            #expect(forged.status == 403)
            let foreign = try await browser.logIn(email: "ada@example.com", password: Self.password, headers: [("origin", "https://evil.example")])
            #expect(foreign.status == 403)
            #expect(browser.cookies["kg_session"] == nil)
            // The cookie alone (a foreign page cannot read it into its form) is not enough either.
            browser.cookies[LoginFormToken.cookieName] = nil
            let cookieless = try await browser.post(
                "/login", form: [("email", "ada@example.com"), ("password", Self.password), ("csrf_token", form.formToken ?? "")])
            #expect(cookieless.status == 403)
        }
    }

    @Test func aMemberSeesOnlyTheirOrganisations() async throws {
        try await withDashboard { h, browser in
            _ = try await AdminService(store: h.gateway.store).createOrganization(slug: "beta", name: "Beta")
            _ = try await browser.logIn(email: "ada@example.com", password: Self.password)
            for path in ["/beta/billing", "/nobody/billing"] {
                let page = try await browser.get(path)
                #expect(page.status == 404, "\(path)")
                #expect(page.text.contains("Page not found"))
                #expect(!page.text.contains("Beta"))
            }
            _ = try await h.gateway.accounts.addUser(organizationSlug: "beta", email: "ada@example.com", password: "", role: .member)
            let beta = try await browser.get("/beta/billing")
            #expect(beta.status == 200, "a member of beta now")
            #expect(beta.text.contains("/acme/billing"), "the organisations are linked")
        }
    }

    @Test func aSessionSurvivesANewGatewayOnTheSameDatabase() async throws {
        try await withDashboard { h, browser in
            _ = try await browser.logIn(email: "ada@example.com", password: Self.password)
            let token = try #require(browser.cookies["kg_session"])
            let other = try await Bootstrap.gateway(h.gateway.configuration, logger: h.logs.logger())
            let user = try await other.accounts.signedIn(token: token)
            await other.shutdown()
            #expect(user?.user.email == "ada@example.com")
            #expect(user?.memberships.map(\.organization.slug) == ["acme"])
        }
    }

    @Test func noPasswordOrSessionIDReachesTheLogsOrTheDatabase() async throws {
        try await withDashboard { h, browser in
            _ = try await browser.logIn(email: "ada@example.com", password: "a wrong password 12345")
            _ = try await browser.logIn(email: "ada@example.com", password: Self.password)
            let token = try #require(browser.cookies["kg_session"])
            #expect(try await browser.get("/acme/billing").status == 200)
            let secrets = [Self.password, "a wrong password 12345", token]
            let logText = h.logs.all.joined(separator: "\n")
            for secret in secrets { #expect(!logText.contains(secret), "a log line leaks a password or session id") }

            try await h.gateway.store.checkReachable()
            var scanned = Data()
            for name in ["keygate.db", "keygate.db-wal"] {
                let path = (h.dataDirectory as NSString).appendingPathComponent(name)
                let bytes = try #require(FileManager.default.contents(atPath: path), "\(name) is missing: nothing to scan")
                scanned += bytes
                for secret in secrets { #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds a password or session id") }
            }
            #expect(scanned.range(of: Data("ada@example.com".utf8)) != nil, "the scan sees what the database holds (the user's email)")
            #expect(scanned.range(of: Data(SessionToken.hash(token).utf8)) != nil, "the scan sees the session's hash")
        }
    }

    @Test func thePasswordHashCostIsABcryptCost() throws {
        #expect(try GatewayConfiguration.fromEnvironment([:]).passwordHashCost == 12)
        #expect(try GatewayConfiguration.fromEnvironment(["KEYGATE_PASSWORD_HASH_COST": "4"]).passwordHashCost == 4)
        for bad in ["3", "32", "twelve"] {
            #expect(throws: StartupError.self) { try GatewayConfiguration.fromEnvironment(["KEYGATE_PASSWORD_HASH_COST": bad]) }
        }
    }

    @Test func aMissingTemplateStopsStartUpNamingIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-templates-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/templates/partials", withIntermediateDirectories: true)
        #expect(throws: DashboardStartupError.self) { try DashboardTemplates(resources: dir) }
        do {
            _ = try DashboardTemplates(resources: dir)
        } catch {
            #expect("\(error)".contains("partials/head"))
        }
        #expect(throws: Never.self) { try DashboardTemplates() }
    }
}
