import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore

/// What every dashboard form that changes something shares, in one place.
extension DashboardRoutes {
    /// The checks of a form that changes an organisation: a session (else sign in), a member (else 404), the
    /// CSRF token and Origin (else 403), an admin (else 403). A `GatewayError` from `body` (the service's
    /// refusal, in words) re-renders the form's page with the message next to that form, and its status.
    func adminForm(
        _ request: Request, context: Context, form: FormProblem.Form,
        _ body: (SignedInUser, Membership, [String: String]) async throws -> Response
    ) async throws -> Response {
        guard let user = try await signedIn(request) else { return DashboardPage.redirect(to: "/login") }
        guard let membership = user.membership(slug: context.parameters.get("slug") ?? "") else { return notFound(user) }
        let fields = try await Self.form(request)
        guard writeAllowed(request, by: user, formToken: fields["csrf_token"]) else {
            return refusal("This request did not come from a Keygate page, so it was refused. Reload the page and try again.")
        }
        guard membership.role == .admin else {
            return refusal("Only an admin of \(membership.organization.name) can change this. Ask one of its admins.")
        }
        do {
            return try await body(user, membership, fields)
        } catch let error as GatewayError {
            let problem = FormProblem(form: form, message: error.message, status: HTTPResponse.Status(code: error.statusCode), submitted: fields)
            return try await page(of: form, user, membership, problem: problem)
        }
    }

    /// The page a form lives on, with its problem shown.
    func page(of form: FormProblem.Form, _ user: SignedInUser, _ membership: Membership, problem: FormProblem) async throws -> Response {
        switch form {
        case .buyCredits, .autoTopUp, .addBYOKKey, .byokKeyAction:
            return try await billingPage(user, membership, query: BillingQuery(), problem: problem)
        case .createAPIKey, .apiKeyAction, .addMember, .memberAction, .fallback:
            return try await settingsPage(user, membership, saved: nil, problem: problem)
        }
    }

    /// A change that cannot be undone (or that moves traffic to credits) asks first: without `confirmed=yes`
    /// the answer is a page that says what will happen, whose button posts the same form again with it.
    func confirmation(
        _ user: SignedInUser, _ membership: Membership, fields: [String: String], action: String, question: String, consequence: String,
        button: String, cancel: String
    ) -> Response? {
        guard fields["confirmed"] != "yes" else { return nil }
        var values = common(user, membership, page: action.contains("/settings/") ? .settings : .billing)
        values["title"] = "Confirm · \(membership.organization.name)"
        values["question"] = question
        values["consequence"] = consequence
        values["action"] = action
        values["button"] = button
        values["cancel"] = cancel
        return DashboardPage.html(templates.render("confirm", values))
    }
}
