import Foundation
import Hummingbird
import KeygateCore
import KeygateStore

/// The billing page's BYOK keys section: add a key (a provider picker; a JSON object for aws and azure), the
/// list with the masked preview, status, last use and last check, and deactivate / reactivate / remove. Every
/// rule is the service's (`BYOKKeyActions`, the JSON API's `BYOKService`); the secret is never rendered, not
/// even back into the form after a refusal.
extension DashboardRoutes {
    /// `POST /{slug}/billing/byok-keys`: `provider`, `secret` (a plain key) or `secret_json` (aws, azure), and
    /// `validate` (a checkbox; checking with the provider is the default of the form).
    func addBYOKKey(_ request: Request, context: Context) async throws -> Response {
        try await adminForm(request, context: context, form: .addBYOKKey) { user, membership, fields in
            guard let keys = services.keys else { return notFound(user) }
            let provider = fields["provider"] ?? ""
            let choice = keys.byokProviders.first { $0.id == provider }
            let secret: JSONValue
            if choice?.jsonExample != nil {
                let text = (fields["secret_json"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                guard !text.isEmpty else {
                    throw GatewayError.invalidValue(
                        "Paste the \(choice?.name ?? provider) credential as a JSON object shaped like the example.", param: "secret")
                }
                guard let parsed = try? JSONValue.decode(Array(text.utf8)), parsed.objectValue != nil else {
                    throw GatewayError.invalidValue(
                        "The \(choice?.name ?? provider) credential is not a JSON object: check the braces, quotes and commas against the example.",
                        param: "secret")
                }
                secret = parsed
            } else {
                let text = fields["secret"] ?? ""
                guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw GatewayError.invalidValue("Paste the key itself: the key field is empty.", param: "secret")
                }
                secret = .string(text)
            }
            let key = try await keys.addBYOKKey(
                organization: membership.organization, provider: provider, secret: secret, validate: fields["validate"] != nil)
            return DashboardPage.redirect(to: "/\(membership.organization.slug)/billing?saved=byok-added&key=\(key.id)#byok-keys")
        }
    }

    func deactivateBYOKKey(_ request: Request, context: Context) async throws -> Response {
        try await byokKeyAction(request, context: context, verb: "deactivate")
    }

    func activateBYOKKey(_ request: Request, context: Context) async throws -> Response {
        try await byokKeyAction(request, context: context, verb: "activate")
    }

    func removeBYOKKey(_ request: Request, context: Context) async throws -> Response {
        try await byokKeyAction(request, context: context, verb: "remove")
    }

    /// Deactivating and removing ask first (requests to that provider then pay with credits); reactivating does not.
    func byokKeyAction(_ request: Request, context: Context, verb: String) async throws -> Response {
        try await adminForm(request, context: context, form: .byokKeyAction) { user, membership, fields in
            guard let keys = services.keys else { return notFound(user) }
            let org = membership.organization
            let id = context.parameters.get("id") ?? ""
            guard let key = try await keys.byokKeys(organization: org).first(where: { $0.id == id }) else {
                throw GatewayError.byokKeyNotFound(id)
            }
            let name = providerName(key.provider, keys)
            let action = "/\(org.slug)/billing/byok-keys/\(id)/\(verb)"
            switch verb {
            case "deactivate":
                if let ask = confirmation(
                    user, membership, fields: fields, action: action, question: "Deactivate the \(name) key \(key.preview)?",
                    consequence:
                        "Requests to \(name) will then be paid with credits (or refused when credits run out) until you reactivate it or add another key.",
                    button: "Deactivate", cancel: "/\(org.slug)/billing#byok-keys")
                {
                    return ask
                }
                _ = try await keys.setBYOKKeyActive(organization: org, keyID: id, active: false)
            case "activate":
                _ = try await keys.setBYOKKeyActive(organization: org, keyID: id, active: true)
            default:
                if let ask = confirmation(
                    user, membership, fields: fields, action: action, question: "Remove the \(name) key \(key.preview)?",
                    consequence:
                        "It is deleted for good: Keygate cannot show or restore it. Requests to \(name) will be paid with credits unless another \(name) key is active.",
                    button: "Remove key", cancel: "/\(org.slug)/billing#byok-keys")
                {
                    return ask
                }
                try await keys.removeBYOKKey(organization: org, keyID: id)
            }
            return DashboardPage.redirect(to: "/\(org.slug)/billing?saved=byok-\(verb)#byok-keys")
        }
    }

    func providerName(_ id: String, _ keys: any BYOKKeyActions) -> String {
        keys.byokProviders.first { $0.id == id }?.name ?? id
    }

    // MARK: Rendering

    func addBYOKSection(
        to values: inout [String: Any], actions: any BYOKKeyActions, organization: Organization, query: BillingQuery, problem: FormProblem?
    ) async throws {
        values["byok"] = true
        let chosen = problem?.form == .addBYOKKey ? problem?.submitted["provider"] : nil
        values["byokProviders"] = actions.byokProviders.map { choice -> [String: Any] in
            var option: [String: Any] = ["id": choice.id, "name": choice.name, "selected": choice.id == chosen]
            if let example = choice.jsonExample { option["jsonExample"] = example }
            return option
        }
        values["byokJSONExamples"] = actions.byokProviders.compactMap { choice in
            choice.jsonExample.map { ["id": choice.id, "name": choice.name, "example": $0] }
        }
        // A refused add keeps the validate box as it was; nothing of the secret is rendered back.
        values["byokValidate"] = problem?.form == .addBYOKKey ? problem?.submitted["validate"] != nil : true
        switch query.saved {
        case "byok-added": values["byokNotice"] = "Key added. Requests to its provider now use it."
        case "byok-deactivate": values["byokNotice"] = "Key deactivated: requests to its provider now pay with credits."
        case "byok-activate": values["byokNotice"] = "Key reactivated."
        case "byok-remove": values["byokNotice"] = "Key removed."
        default: break
        }
        let keys = try await actions.byokKeys(organization: organization)
        values["byokKeys"] = keys.map { key -> [String: Any] in
            var row: [String: Any] = [
                "id": key.id, "provider": providerName(key.provider, actions), "preview": key.preview, "status": key.status.rawValue,
                "created": Self.day(ms: key.createdAt), "lastUsed": key.lastUsedAt.map { Self.day(ms: $0) } ?? "never",
                "isActive": key.status == .active, "canActivate": key.status != .active,
            ]
            if key.status == .invalid { row["statusHint"] = "the provider refused it: add a new key or reactivate after fixing it" }
            let validation = key.lastValidatedAt.map { "\(Self.validationWords(key.lastValidationResult)) on \(Self.day(ms: $0))" }
            row["lastValidation"] = validation ?? Self.validationWords(key.lastValidationResult)
            return row
        }
        if keys.isEmpty { values["noBYOKKeys"] = true }
    }

    static func validationWords(_ result: String?) -> String {
        switch result {
        case "ok": "checked with the provider"
        case "shape ok": "format checked (this provider has no check call)"
        case "skipped", nil: "not checked"
        case let other?: other
        }
    }
}
