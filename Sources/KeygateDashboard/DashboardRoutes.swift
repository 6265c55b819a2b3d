import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import KeygateCore
import KeygateStore

/// The dashboard's pages: `GET`/`POST /login`, `POST /logout`, `GET /{slug}/billing` (buying credits and auto
/// top-up in `DashboardRoutes+Billing.swift`, the BYOK keys section in `+Keys`, usage and the ledger in
/// `+Usage`), `GET /{slug}/settings` (`+Settings`), `GET /{slug}/lab` (`+Lab`; its messages go through the
/// gateway's own chat route, registered by KeygateServer), the stylesheet and the script.
///
/// Sessions: the cookie `kg_session` holds a random id whose SHA-256 alone is stored (`DashboardAccounts`);
/// HttpOnly, SameSite=Lax, Secure when the public URL is https. CSRF: every form carries the session's token
/// as `csrf_token` (a `fetch` sends it as `X-CSRF-Token`, read from `<meta name="csrf-token">`), compared in
/// constant time on every write; a present `Origin` must be this server's. The login form, before any
/// session, uses `LoginFormToken` (a signed double-submit cookie).
public struct DashboardRoutes<Context: DashboardRequestContext>: Sendable {
    public static var sessionCookie: String { "kg_session" }
    public static var csrfHeader: HTTPField.Name { HTTPField.Name("X-CSRF-Token")! }
    let accounts: DashboardAccounts
    let templates: DashboardTemplates
    let balances: any LedgerStore & UsageStore
    let loginForm: LoginFormToken
    /// `scheme://host[:port]` of `KEYGATE_PUBLIC_URL`; also accepted as an `Origin`.
    let publicOrigin: String?
    let secureCookies: Bool
    let services: DashboardServices
    var billingActions: (any BillingActions)? { services.billing }

    public init(
        accounts: DashboardAccounts, templates: DashboardTemplates, balances: any LedgerStore & UsageStore, loginForm: LoginFormToken,
        publicURL: String?, services: DashboardServices = DashboardServices()
    ) {
        self.services = services
        self.accounts = accounts
        self.templates = templates
        self.balances = balances
        self.loginForm = loginForm
        self.publicOrigin = publicURL.flatMap(Self.origin(of:))
        self.secureCookies = publicURL?.lowercased().hasPrefix("https://") ?? false
    }

    public func register(on router: Router<Context>) {
        router.get("login", use: showLogin)
        router.post("login", use: logIn)
        router.post("logout", use: logOut)
        router.get("static/dashboard.css", use: stylesheet)
        router.get("static/dashboard.js", use: script)
        router.get(":slug/billing", use: billing)
        router.post(":slug/billing/checkout", use: buyCredits)
        router.post(":slug/billing/auto-topup", use: saveAutoTopUp)
        router.post(":slug/billing/byok-keys", use: addBYOKKey)
        router.post(":slug/billing/byok-keys/:id/deactivate", use: deactivateBYOKKey)
        router.post(":slug/billing/byok-keys/:id/activate", use: activateBYOKKey)
        router.post(":slug/billing/byok-keys/:id/remove", use: removeBYOKKey)
        router.get(":slug/settings", use: settings)
        router.post(":slug/settings/api-keys", use: createAPIKey)
        router.post(":slug/settings/api-keys/:id/revoke", use: revokeAPIKey)
        router.post(":slug/settings/members", use: addMember)
        router.post(":slug/settings/members/:user/remove", use: removeMember)
        router.post(":slug/settings/fallback", use: saveFallback)
        router.get(":slug/lab", use: lab)
        router.get(":slug/lab/receipt/:request", use: labReceipt)
    }

    // MARK: Sessions and CSRF, for every dashboard page and the org API

    /// The signed-in user of this request's session cookie, nil without a valid one.
    public func signedIn(_ request: Request) async throws -> SignedInUser? {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty else { return nil }
        return try await accounts.signedIn(token: token)
    }

    /// A write (POST/PUT/DELETE) by a session: its CSRF token (form field or `X-CSRF-Token`) must match in
    /// constant time, and a present `Origin` must be this server's.
    public func writeAllowed(_ request: Request, by user: SignedInUser, formToken: String? = nil) -> Bool {
        guard originAllowed(request) else { return false }
        guard let presented = formToken ?? request.headers[Self.csrfHeader] else { return false }
        return SessionToken.equal(presented, user.session.csrfToken)
    }

    /// No `Origin` (same-origin navigations of older browsers, the CLI) passes; a present one must be ours.
    public func originAllowed(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        if let publicOrigin, origin.lowercased() == publicOrigin { return true }
        guard let authority = request.head.authority else { return false }
        let lower = origin.lowercased()
        return lower == "http://\(authority.lowercased())" || lower == "https://\(authority.lowercased())"
    }

    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return nil }
        return (components.port.map { "\(scheme)://\(host):\($0)" } ?? "\(scheme)://\(host)").lowercased()
    }

    // MARK: Login and logout

    func showLogin(_ request: Request, context: Context) async throws -> Response {
        if let user = try await signedIn(request) {
            if let first = user.memberships.first { return DashboardPage.redirect(to: "/\(first.organization.slug)/billing") }
            // Signed in, but no organisation to show: say so instead of a bare sign-in form.
            return loginPage(
                message:
                    "You are signed in as \(user.user.email), but not a member of any organisation yet. Ask an admin of your organisation to add you.",
                email: user.user.email, status: .ok)
        }
        return loginPage(message: nil, email: "", status: .ok)
    }

    func logIn(_ request: Request, context: Context) async throws -> Response {
        guard originAllowed(request) else { return refusal("This sign-in came from another site, so it was refused.") }
        let form = try await Self.form(request)
        guard loginForm.isValid(field: form["csrf_token"], cookie: request.cookies[LoginFormToken.cookieName]?.value, nowMs: WallClock.nowMs())
        else {
            return loginPage(message: "This sign-in form had expired. Please enter your email and password again.", email: "", status: .forbidden)
        }
        let email = form["email"] ?? ""
        let outcome = try await accounts.logIn(email: email, password: form["password"] ?? "", clientAddress: context.clientAddress)
        switch outcome {
        case .refused:
            return loginPage(
                message: "That email and password do not match an account. Check both and try again.", email: email, status: .unauthorized)
        case .throttled(let seconds):
            return loginPage(
                message: "Too many failed sign-ins. Please wait \(Self.duration(seconds)) before trying again.", email: email,
                status: .tooManyRequests)
        case .signedIn(let token, _, _, let memberships):
            var response = DashboardPage.redirect(to: memberships.first.map { "/\($0.organization.slug)/billing" } ?? "/login")
            response.setCookie(
                Cookie(
                    name: Self.sessionCookie, value: token, maxAge: Int(DashboardAccounts.sessionLifetimeMs / 1000), path: "/",
                    secure: secureCookies, httpOnly: true, sameSite: .lax))
            response.setCookie(expired(LoginFormToken.cookieName, path: "/login"))
            return response
        }
    }

    func logOut(_ request: Request, context: Context) async throws -> Response {
        guard let user = try await signedIn(request), let token = request.cookies[Self.sessionCookie]?.value else {
            return DashboardPage.redirect(to: "/login")
        }
        let form = try await Self.form(request)
        guard writeAllowed(request, by: user, formToken: form["csrf_token"]) else {
            return refusal("This request did not come from a Keygate page, so it was refused. Reload the page and try again.")
        }
        try await accounts.logOut(token: token)
        var response = DashboardPage.redirect(to: "/login")
        response.setCookie(expired(Self.sessionCookie, path: "/"))
        return response
    }

    // MARK: Pages

    func billing(_ request: Request, context: Context) async throws -> Response {
        guard let user = try await signedIn(request) else { return DashboardPage.redirect(to: "/login") }
        let slug = context.parameters.get("slug") ?? ""
        guard let membership = user.membership(slug: slug) else { return notFound(user) }
        return try await billingPage(user, membership, query: BillingQuery(request.uri.queryParameters))
    }

    /// The billing page; `problem` is a form's refusal, shown inline next to that form with its status.
    func billingPage(
        _ user: SignedInUser, _ membership: Membership, query: BillingQuery, problem: FormProblem? = nil
    ) async throws -> Response {
        let org = membership.organization
        let now = WallClock.nowMs()
        let balance = try await balances.balance(organizationID: org.id)
        let byok = try await balances.byokRequestCount(organizationID: org.id, since: MonthStart.utc(ofMs: now))
        var values = common(user, membership, page: .billing)
        values["available"] = balance.available.description
        values["reserved"] = balance.reserved.description
        values["total"] = balance.total.description
        values["trial"] = balance.trial.description
        if let expiry = balance.trialExpiresAt { values["trialExpiresAt"] = Self.day(ms: expiry) }
        values["byokRequestCount"] = String(byok)
        if let problem { values[problem.templateKey] = problem.message }
        if let billingActions {
            try await addBillingSections(
                to: &values, actions: billingActions, organization: org, isAdmin: membership.role == .admin, query: query, problem: problem)
        }
        if let keys = services.keys {
            try await addBYOKSection(to: &values, actions: keys, organization: org, query: query, problem: problem)
        }
        try await addUsageSections(to: &values, organization: org, query: query, nowMs: now)
        return DashboardPage.html(templates.render("billing", values), status: problem?.status ?? .ok)
    }

    func stylesheet(_ request: Request, context: Context) async throws -> Response {
        DashboardPage.asset(templates.stylesheet, contentType: "text/css; charset=utf-8")
    }

    func script(_ request: Request, context: Context) async throws -> Response {
        DashboardPage.asset(templates.script, contentType: "text/javascript; charset=utf-8")
    }

    // MARK: Rendering

    func notFound(_ user: SignedInUser?) -> Response {
        var values: [String: Any] = ["title": "Not found"]
        if let user {
            values = common(user, title: "Not found")
            if let first = user.memberships.first { values["home"] = "/\(first.organization.slug)/billing" }
        }
        return DashboardPage.html(templates.render("not-found", values), status: .notFound)
    }

    func refusal(_ message: String) -> Response {
        DashboardPage.html(templates.render("forbidden", ["title": "Refused", "message": message]), status: .forbidden)
    }

    func loginPage(message: String?, email: String, status: HTTPResponse.Status) -> Response {
        let token = loginForm.make(nowMs: WallClock.nowMs())
        var values: [String: Any] = ["title": "Sign in", "formToken": token, "email": email]
        if let message { values["message"] = message }
        var response = DashboardPage.html(templates.render("login", values), status: status)
        response.setCookie(
            Cookie(
                name: LoginFormToken.cookieName, value: token, maxAge: Int(LoginFormToken.lifetimeSeconds), path: "/login",
                secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    func common(_ user: SignedInUser, title: String) -> [String: Any] {
        ["title": title, "userEmail": user.user.email, "csrfToken": user.session.csrfToken]
    }

    /// What every page of an organisation shows: the signed-in user, the CSRF token, the organisation, the
    /// navigation between its pages and the user's other organisations.
    func common(_ user: SignedInUser, _ membership: Membership, page: DashboardSection) -> [String: Any] {
        let org = membership.organization
        var values = common(user, title: "\(page.title) · \(org.name)")
        values["organizationName"] = org.name
        values["slug"] = org.slug
        values["inOrganization"] = true
        values["isAdmin"] = membership.role == .admin
        values["role"] = membership.role.rawValue
        values["nav"] = DashboardSection.allCases.map { section -> [String: Any] in
            ["id": section.rawValue, "title": section.title, "href": "/\(org.slug)/\(section.rawValue)", "current": section == page]
        }
        values["severalOrganizations"] = user.memberships.count > 1
        values["organizations"] = user.memberships.map { ["slug": $0.organization.slug, "name": $0.organization.name, "page": page.rawValue] }
        return values
    }

    func expired(_ name: String, path: String) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: path, secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// A form body (`application/x-www-form-urlencoded`), at most 16 KiB.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 16 * 1024)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) ?? "" : ""
        }
        return fields
    }

    static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    static func duration(_ seconds: Int64) -> String {
        seconds < 120 ? "\(seconds) seconds" : "\((seconds + 59) / 60) minutes"
    }

    static func day(ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMMM yyyy 'at' HH:mm 'UTC'"
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
