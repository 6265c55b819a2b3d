import Hummingbird
import KeygateCore
import KeygateStore

/// `/{slug}/settings`: Keygate API keys (create → the plaintext shown once, with a copy button; listed by
/// prefix; revoke after a confirmation), the members (an admin adds one with a first password, or removes
/// one), and the switch "fall back to credits when my key is rate limited". Rules are the services':
/// `SettingsActions` (the CLI's `AdminService`) and `DashboardAccounts` (`keygate user`).
extension DashboardRoutes {
    func settings(_ request: Request, context: Context) async throws -> Response {
        guard let user = try await signedIn(request) else { return DashboardPage.redirect(to: "/login") }
        guard let membership = user.membership(slug: context.parameters.get("slug") ?? "") else { return notFound(user) }
        return try await settingsPage(user, membership, saved: request.uri.queryParameters.get("saved").map { String($0) })
    }

    /// `POST /{slug}/settings/api-keys` (`name`, `admin`): answers the settings page itself, with the new key in
    /// it once (no redirect: the plaintext must not travel in an address or be shown twice).
    func createAPIKey(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .createAPIKey) { user, membership, fields in
            guard let settings = services.settings else { return notFound(user) }
            let name = Self.filled(fields["name"])
            if let name, name.count > 80 { throw GatewayError.invalidValue("A key's name can have at most 80 characters.", param: "name") }
            let created = try await settings.createAPIKey(organization: membership.organization, name: name, isAdmin: fields["admin"] != nil)
            return try await settingsPage(user, membership, saved: nil, newKey: created)
        }
    }

    func revokeAPIKey(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .apiKeyAction) { user, membership, fields in
            guard let settings = services.settings else { return notFound(user) }
            let org = membership.organization
            let id = context.parameters.get("id") ?? ""
            guard let key = try await settings.apiKeys(organization: org).first(where: { $0.id == id && !$0.isRevoked }) else {
                throw GatewayError.invalidValue("There is no active API key with that id in \(org.name): it may be revoked already.", param: "id")
            }
            if let ask = confirmation(
                user, membership, fields: fields, action: "/\(org.slug)/settings/api-keys/\(id)/revoke",
                question: "Revoke the API key “\(key.name)” (\(key.preview))?",
                consequence: "Every call with it is refused within a second, on every server. This cannot be undone: create a new key instead.",
                button: "Revoke key", cancel: "/\(org.slug)/settings#api-keys")
            {
                return ask
            }
            try await settings.revokeAPIKey(organization: org, keyID: id)
            return DashboardPage.redirect(to: "/\(org.slug)/settings?saved=api-key-revoked#api-keys")
        }
    }

    /// `POST /{slug}/settings/members` (`email`, `role`, `password` for a new user): adds a user, or adds an
    /// existing one with their own password unchanged.
    func addMember(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .addMember) { _, membership, fields in
            let org = membership.organization
            guard let role = MemberRole(rawValue: fields["role"] ?? "member") else {
                throw GatewayError.invalidValue("The role must be admin or member.", param: "role")
            }
            do {
                let (_, created) = try await accounts.addUser(
                    organizationSlug: org.slug, email: fields["email"] ?? "", password: fields["password"] ?? "", role: role)
                return DashboardPage.redirect(to: "/\(org.slug)/settings?saved=\(created ? "member-created" : "member-added")#members")
            } catch let error as DashboardAccountError {
                throw GatewayError.invalidValue(Self.sentence(error.description), param: "email")
            }
        }
    }

    func removeMember(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .memberAction) { user, membership, fields in
            let org = membership.organization
            let userID = context.parameters.get("user") ?? ""
            guard let member = try await accounts.members(organizationSlug: org.slug).first(where: { $0.user.id == userID }) else {
                throw GatewayError.invalidValue("That user is not a member of \(org.name).", param: "user")
            }
            guard member.user.id != user.user.id else {
                throw GatewayError.invalidValue("You cannot remove yourself: ask another admin to do it.", param: "user")
            }
            if let ask = confirmation(
                user, membership, fields: fields, action: "/\(org.slug)/settings/members/\(userID)/remove",
                question: "Remove \(member.user.email) from \(org.name)?",
                consequence: "They can no longer see or change anything of \(org.name). Their sign-in stays for their other organisations.",
                button: "Remove member", cancel: "/\(org.slug)/settings#members")
            {
                return ask
            }
            do {
                try await accounts.removeMember(organizationSlug: org.slug, email: member.user.email)
            } catch let error as DashboardAccountError {
                throw GatewayError.invalidValue(Self.sentence(error.description), param: "user")
            }
            return DashboardPage.redirect(to: "/\(org.slug)/settings?saved=member-removed#members")
        }
    }

    /// `POST /{slug}/settings/fallback`: the checkbox `byok_fallback_on_rate_limit`, unticked is off.
    func saveFallback(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .fallback) { user, membership, fields in
            guard let settings = services.settings else { return notFound(user) }
            _ = try await settings.setBYOKFallbackOnRateLimit(fields["byok_fallback_on_rate_limit"] != nil, organization: membership.organization)
            return DashboardPage.redirect(to: "/\(membership.organization.slug)/settings?saved=fallback#fallback")
        }
    }

    // MARK: Rendering

    func settingsPage(
        _ user: SignedInUser, _ membership: Membership, saved: String?, problem: FormProblem? = nil,
        newKey: (record: APIKeyRecord, plaintext: String)? = nil
    ) async throws -> Response {
        let org = membership.organization
        var values = common(user, membership, page: .settings)
        if let problem { values[problem.templateKey] = problem.message }
        switch saved {
        case "api-key-revoked": values["apiKeyNotice"] = "API key revoked."
        case "member-created": values["memberNotice"] = "Member added with the password you chose: give it to them privately."
        case "member-added": values["memberNotice"] = "Member added: they already had a sign-in and keep their own password."
        case "member-removed": values["memberNotice"] = "Member removed."
        case "fallback": values["fallbackNotice"] = "Saved."
        default: break
        }
        if let newKey {
            values["newKey"] = newKey.plaintext
            values["newKeyName"] = newKey.record.name
        }
        if let settings = services.settings {
            values["settingsAvailable"] = true
            values["apiKeys"] = try await settings.apiKeys(organization: org).map { key -> [String: Any] in
                [
                    "id": key.id, "name": key.name, "prefix": key.preview, "role": key.isAdmin ? "admin" : "calls only",
                    "status": key.isRevoked ? "revoked" : "active", "isActive": !key.isRevoked, "created": Self.day(ms: key.createdAt),
                ]
            }
            let current = try await settings.settings(organization: org)
            var fallbackOn = current.byokFallbackOnRateLimit
            if let problem, problem.form == .fallback { fallbackOn = problem.submitted["byok_fallback_on_rate_limit"] != nil }
            values["fallbackOn"] = fallbackOn
        }
        values["members"] = try await accounts.members(organizationSlug: org.slug).map { member -> [String: Any] in
            ["userID": member.user.id, "email": member.user.email, "role": member.role.rawValue, "isYou": member.user.id == user.user.id]
        }
        if let problem, problem.form == .addMember {
            values["memberEmail"] = problem.submitted["email"] ?? ""
            values["memberIsAdmin"] = problem.submitted["role"] == "admin"
        }
        if let problem, problem.form == .createAPIKey { values["apiKeyName"] = problem.submitted["name"] ?? "" }
        return DashboardPage.html(templates.render("settings", values), status: problem?.status ?? .ok)
    }

    /// An operator-facing refusal ("the password must have …") as a sentence for the page.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalised = first.uppercased() + text.dropFirst()
        return capitalised.hasSuffix(".") ? capitalised : capitalised + "."
    }
}
