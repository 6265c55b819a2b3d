/// The catalog of Keygate's error codes: one factory per code, grouped by area, each showing the code, status
/// and wording it answers with. Build every `GatewayError` here, so that a code means one thing with one
/// wording, and so that this file is the list the API reference documents.
///
/// Factories take only primitives and Core values, never a server or store type, and only what is safe to
/// show (see `GatewayError`'s invariant).
extension GatewayError {

    // MARK: The caller's key

    public static let missingAPIKey = invalidRequest(
        status: 401, code: "missing_api_key",
        "No Keygate API key was sent. Send it as 'Authorization: Bearer <key>'; an org admin can create one with 'keygate apikey create'.")

    public static let invalidAPIKey = invalidRequest(
        status: 401, code: "invalid_api_key",
        "The Keygate API key is not valid or has been revoked. Check the key you sent, or ask an org admin for a new one.")

    // MARK: The request

    /// A request the gateway cannot take, in words of the caller's own (`invalid_request`).
    public static func badRequest(_ message: String, param: String? = nil) -> GatewayError {
        invalidRequest(code: "invalid_request", message, param: param)
    }

    /// A parameter with a value outside what it takes (`'limit' must be …`).
    public static func invalidValue(_ message: String, param: String?) -> GatewayError {
        invalidRequest(code: "invalid_value", message, param: param)
    }

    /// A content part the target model's wire format cannot carry.
    public static func unsupportedContent(_ message: String, param: String?) -> GatewayError {
        invalidRequest(code: "unsupported_content", message, param: param)
    }

    /// An image the target model's wire format cannot take as sent.
    public static func invalidImage(_ message: String, param: String?) -> GatewayError {
        invalidRequest(code: "invalid_image", message, param: param)
    }

    /// A field of the right name but the wrong JSON type.
    public static func invalidType(_ message: String, param: String?) -> GatewayError {
        invalidRequest(code: "invalid_type", message, param: param)
    }

    public static func duplicateField(_ name: String) -> GatewayError {
        invalidRequest(code: "duplicate_field", "'\(name)' appears more than once in the request body. Send each field once.", param: name)
    }

    public static func invalidJSON(_ detail: String) -> GatewayError {
        invalidRequest(code: "invalid_json", "The request body is not valid JSON (\(detail)). Send a JSON object with 'model' and 'messages'.")
    }

    public static func missingField(_ param: String, expected: String) -> GatewayError {
        invalidRequest(code: "missing_required_parameter", "Missing required parameter '\(param)': expected \(expected).", param: param)
    }

    public static func wrongType(_ param: String, expected: String, found: String) -> GatewayError {
        invalidType("Invalid type for '\(param)': expected \(expected), but got \(found).", param: param)
    }

    /// A model the catalog does not list; or (`unpricedOn`) one reached through `x-byok-provider` that the
    /// catalog prices nowhere while a BYOK fee applies: the fee would be 0, so the call is refused until the
    /// operator lists the model.
    public static func modelNotFound(_ model: String, unpricedOn provider: String? = nil) -> GatewayError {
        let problem =
            if let provider {
                "The model '\(model)' on provider '\(provider)' has no price in this gateway's catalog, and this gateway charges a fee on BYOK calls priced from it."
            } else {
                "The model '\(model)' is not in this gateway's catalog. List the available models with GET /v1/models, and use an id from it (for example 'openai/gpt-5.6-luna')."
            }
        return invalidRequest(status: 404, code: "model_not_found", problem + " " + howToAddAModel, param: "model")
    }

    static let howToAddAModel =
        "To add a model, the gateway's operator adds an entry with its prices to the catalog file (KEYGATE_CATALOG), or imports LiteLLM's price list with `keygate catalog import --litellm FILE`, and restarts."

    public static func bodyTooLarge(limit: Int) -> GatewayError {
        invalidRequest(
            status: 413, code: "request_too_large",
            "The request body is larger than this gateway accepts (\(limit) bytes). Send a smaller request, for example fewer or smaller images.")
    }

    // MARK: Routes and the server

    public static func routeNotFound(_ path: String) -> GatewayError {
        invalidRequest(
            status: 404, code: "unknown_url", "Unknown route '\(path)'. The API is served under /v1 (POST /v1/chat/completions, GET /v1/models).")
    }

    public static func methodNotAllowed(_ path: String) -> GatewayError {
        invalidRequest(
            status: 405, code: "method_not_allowed", "Method not allowed on '\(path)'. See the API reference for the methods each route takes.")
    }

    /// Any other HTTP error of the server framework, with its own status and text and no code.
    public static func unmappedHTTPError(status: Int, message: String) -> GatewayError {
        GatewayError(status: status, type: status >= 500 ? "api_error" : "invalid_request_error", code: nil, message: message)
    }

    /// Names the request id only: the cause could hold internal detail.
    public static func internalError(requestID: String) -> GatewayError {
        apiError(
            status: 500, code: "internal_error",
            "Keygate hit an internal error. Retry; if it persists, give the operator the request id \(requestID).")
    }

    /// The client hung up before the answer was complete (recorded as 499, never seen by that client).
    public static let clientDisconnected = GatewayError(
        status: 499, type: "invalid_request_error", code: "client_disconnected", message: "The client closed the connection.")

    // MARK: Organisations and admin keys

    /// Where an organisation slug was looked for.
    public enum OrganizationScope: Sendable {
        /// Among the organisations the caller's key may act for (the `/api/orgs/{slug}` routes).
        case callerKey
        /// In the whole database (the CLI, and the services under it).
        case database
        /// Among the organisations the signed-in dashboard user is a member of.
        case member
    }

    /// On the API another organisation's slug answers exactly like a slug that does not exist, so that nobody
    /// can probe which organisations exist.
    public static func organizationNotFound(_ slug: String, in scope: OrganizationScope) -> GatewayError {
        let message =
            switch scope {
            case .callerKey: "No organisation '\(slug)' for this key. Use an admin key of the organisation named in the URL."
            case .database: "No organisation '\(slug)'. Check the slug (keygate org list)."
            case .member: "No organisation '\(slug)' among the organisations you are a member of."
            }
        return GatewayError(status: 404, type: "invalid_request_error", code: "organization_not_found", message: message)
    }

    /// A dashboard member (not an admin) tried to change something.
    public static func organizationAdminRequired(organization slug: String) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "organization_admin_required",
            message: "Only an admin of '\(slug)' can change this; members can look but not change. Ask an admin of '\(slug)'.")
    }

    /// An API key id that is not an active key of the organisation (revoked already, or another one's).
    public static func apiKeyNotFound(_ id: String) -> GatewayError {
        GatewayError(
            status: 404, type: "invalid_request_error", code: "api_key_not_found",
            message: "No active API key '\(id)' in this organisation: it may be revoked already. List the keys with GET /api/orgs/{slug}/api-keys.")
    }

    /// A dashboard call (the lab) without a valid session.
    public static var signInRequired: GatewayError {
        GatewayError(
            status: 401, type: "authentication_error", code: "sign_in_required",
            message: "Your dashboard session has ended. Sign in again at /login and resend.")
    }

    /// A scrape of `/metrics` without the operator's `KEYGATE_METRICS_TOKEN`.
    public static var metricsTokenRequired: GatewayError {
        GatewayError(
            status: 401, type: "authentication_error", code: "metrics_token_required",
            message: "/metrics needs the operator's metrics token: send 'Authorization: Bearer <KEYGATE_METRICS_TOKEN>'.")
    }

    /// A dashboard write without the session's CSRF token, or from another site.
    public static var csrfRejected: GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "csrf_rejected",
            message:
                "This request did not come from a Keygate page (missing or wrong X-CSRF-Token, or a foreign Origin). "
                + "Reload the page and try again.")
    }

    /// The operator's organisation create found the slug taken.
    public static func organizationExists(_ slug: String) -> GatewayError {
        invalidRequest(
            status: 409, code: "organization_exists",
            "An organisation '\(slug)' already exists. Choose another slug, or list them with GET /api/admin/organizations.", param: "slug")
    }

    /// The operator suspended the organisation: its calls are refused until the suspension is lifted.
    public static func organizationSuspended(_ slug: String) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "organization_suspended",
            message:
                "Organisation '\(slug)' is suspended by the gateway's operator, so its API keys cannot make calls. Contact the operator to lift the suspension."
        )
    }

    // MARK: The operator's admin API

    public static let operatorTokenRequired = GatewayError(
        status: 401, type: "invalid_request_error", code: "operator_token_required",
        message:
            "The admin API needs an operator token: send 'Authorization: Bearer kgop_…'. Create one on the server with 'keygate operator-token create --name N'."
    )

    public static let operatorTokenInvalid = GatewayError(
        status: 403, type: "permission_error", code: "operator_token_invalid",
        message:
            "This token is not a valid operator token (unknown, revoked, or an organisation's API key). Create one with 'keygate operator-token create --name N'."
    )

    public static func adminKeyRequired(organization slug: String) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "admin_key_required",
            message: "This route needs an admin Keygate key of '\(slug)'. Create one with 'keygate apikey create --org \(slug) --admin'.")
    }

    // MARK: Credits

    /// `available` is what the organisation has left; the estimate says what the request may cost at most.
    public static func insufficientCredits(estimate: CreditEstimate, available: MicroCredits, provider: String, organization: String) -> GatewayError
    {
        GatewayError(
            status: 402, type: "insufficient_credits", code: "insufficient_credits",
            message:
                "Not enough credits: this request may cost up to \(estimate.reservation) credits (about \(estimate.promptTokens) prompt tokens and up to \(estimate.maxOutputTokens) output tokens, from \(estimate.maxOutputSource)), and organisation '\(organization)' has \(available) available. Buy credits, set a lower max_tokens, or add the organisation's own '\(provider)' key (BYOK).",
            param: estimate.maxOutputSource == "max_tokens" ? "max_tokens" : nil)
    }

    // MARK: Jobs

    /// Opening a job for more than available: nothing was held.
    public static func insufficientCreditsForJob(amount: MicroCredits, available: MicroCredits, organization: String) -> GatewayError {
        var error = insufficientCredits(
            estimate: CreditEstimate(promptTokens: 0, maxOutputTokens: 0, maxOutputSource: "", cost: amount, fee: .zero, reservation: amount),
            available: available, provider: "", organization: organization)
        error.message =
            "Not enough credits to open this job: it holds \(amount) credits and organisation '\(organization)' has \(available) available. Buy credits, or open the job for less."
        error.param = "credits"
        return error
    }

    /// A call whose estimate no longer fits in what is left of its job's hold: nothing was called.
    public static func jobExhausted(
        jobID: String, estimate: CreditEstimate, remaining: MicroCredits, amount: MicroCredits, charged: MicroCredits
    ) -> GatewayError {
        GatewayError(
            status: 402, type: "insufficient_credits", code: "job_exhausted",
            message:
                "Job '\(jobID)' cannot hold this call: it may cost up to \(estimate.reservation) credits and the job has \(remaining) left of its \(amount) (\(charged) charged so far, the rest held by calls in flight). Set a lower max_tokens, or open a larger job.",
            param: estimate.maxOutputSource == "max_tokens" ? "max_tokens" : nil)
    }

    /// No job of that id in the caller's organisation (another organisation's job answers the same).
    public static func jobNotFound(_ id: String, in field: String = "x-keygate-job") -> GatewayError {
        invalidRequest(
            status: 404, code: "job_not_found",
            "There is no job '\(id)' in this organisation. Open one with POST /api/orgs/{slug}/jobs and send its id.", param: field)
    }

    /// A call naming a job that is closed (completed, failed or expired), or a second close.
    public static func jobClosed(_ id: String, status: String) -> GatewayError {
        invalidRequest(
            status: 409, code: "job_closed", "Job '\(id)' is \(status): it takes no more calls and cannot be closed again. Open a new job.",
            param: "x-keygate-job")
    }

    public static func unknownTier(_ name: String, known: [String]) -> GatewayError {
        invalidRequest(
            status: 400, code: "unknown_tier",
            known.isEmpty
                ? "There is no tier '\(name)': this gateway defines no job tiers (KEYGATE_TIERS). Open the job for an amount of 'credits'."
                : "There is no tier '\(name)'. Use one of: \(known.joined(separator: ", ")) (GET /api/orgs/{slug}/tiers lists them).",
            param: "tier")
    }

    // MARK: The organisation's own provider keys (BYOK)

    /// Where an unknown provider id was given.
    public enum ProviderField: Sendable {
        /// The `x-byok-provider` header of a model call.
        case byokHeader
        /// The `provider` of a key being added.
        case keyBody
    }

    public static func unknownBYOKProvider(_ name: String, in field: ProviderField = .byokHeader) -> GatewayError {
        let (message, param) =
            switch field {
            case .byokHeader:
                (
                    "x-byok-provider names '\(name)', which is not a provider of this gateway. Use a provider id such as openai, anthropic, google, openrouter.",
                    "x-byok-provider"
                )
            case .keyBody:
                ("Unknown provider '\(name)'. Use a provider id such as openai, anthropic, google, aws, azure, openrouter, groq.", "provider")
            }
        return GatewayError(status: 400, type: "invalid_request_error", code: "unknown_provider", message: message, param: param)
    }

    public static func byokKeyRequired(provider: String, organization: String) -> GatewayError {
        invalidRequest(
            status: 400, code: "byok_key_missing",
            "x-byok-provider asks for the organisation's own '\(provider)' key, but it has no active one. Add it with 'keygate byok add --org \(organization) --provider \(provider)' or POST /api/orgs/\(organization)/byok-keys, or drop the header to use credits.",
            param: "x-byok-provider")
    }

    public static func byokKeyNotFound(_ id: String) -> GatewayError {
        invalidRequest(
            status: 404, code: "byok_key_not_found", "No BYOK key '\(id)' in this organisation. List the keys with GET /api/orgs/{slug}/byok-keys.")
    }

    /// The provider refused a key being added (`providerName` is the display name, e.g. "Anthropic").
    public static func byokKeyInvalid(providerName: String, status: Int) -> GatewayError {
        invalidRequest(
            status: 400, code: "byok_key_invalid",
            "\(providerName) refused this key (HTTP \(status)). Check that it was copied whole, that it has not been revoked in the provider's console, and that the account is in good standing.",
            param: "secret")
    }

    /// The provider could not be asked about a key being added (`why` says what went wrong, without secrets).
    public static func byokValidationUnavailable(providerName: String, why: String) -> GatewayError {
        apiError(
            status: 502, code: "byok_validation_unavailable",
            "Could not check the key with \(providerName) (\(why)). Retry later, or store it unchecked with --no-validate (\"validate\": false).")
    }

    /// The provider refused a stored key during a request; the key is then marked invalid.
    public static func byokKeyRejected(provider: String, preview: String, status: Int) -> GatewayError {
        GatewayError(
            status: 403, type: "permission_error", code: "byok_key_rejected",
            message:
                "Provider '\(provider)' refused the organisation's own key \(preview) (HTTP \(status)). Check that it was copied whole, that it has not been revoked in the provider's console and that the account is in good standing, then add it again. The key is marked invalid."
        )
    }

    /// Why a stored key cannot be used.
    public enum UnreadableKey: Sendable {
        /// It no longer decrypts: altered, or the gateway's master key changed.
        case undecryptable(provider: String, preview: String)
        /// The stored Azure credential lacks a field (`deploymentName` only matters for chat completions).
        case azureNotExpectedJSON(needsDeployment: Bool)
    }

    /// A stored key that cannot be used is a 500-class error, never garbage sent to a provider.
    public static func byokKeyUnreadable(_ reason: UnreadableKey) -> GatewayError {
        let message =
            switch reason {
            case .undecryptable(let provider, let preview):
                "The organisation's stored key for '\(provider)' (\(preview)) cannot be decrypted: it was altered or the gateway's master key changed. An org admin should remove it and add the key again; the operator should check KEYGATE_MASTER_KEY."
            case .azureNotExpectedJSON(let needsDeployment):
                "The stored Azure credential is not the expected JSON (endpoint, apiKey, \(needsDeployment ? "deploymentName, " : "")apiVersion). An org admin should add it again."
            }
        return GatewayError(status: 500, type: "api_error", code: "byok_key_unreadable", message: message)
    }

    /// An AWS credential that is not the expected JSON. The same parser reads the operator's platform key and
    /// an organisation's BYOK key and cannot tell which it was given, so the message names both.
    public static let awsCredentialUnreadable = apiError(
        status: 500, code: "provider_credential_unreadable",
        "The AWS credential for this request is not the expected JSON (accessKeyId, secretAccessKey, region). If it is the organisation's own key, an org admin should add it again; if it is the platform's (KEYGATE_PROVIDER_AWS_API_KEY), the operator should correct it."
    )

    // MARK: The provider's side

    /// A stream the provider ended before it was complete: the client has a partial answer.
    public static func upstreamStreamCut(provider: String) -> GatewayError {
        apiError(
            status: 502, code: "upstream_stream_cut",
            "Provider '\(provider)' ended the stream before it was complete. The answer above is partial; retry the request.")
    }

    /// This process is stopping and its grace period ran out before the request finished (a stream gets it as
    /// its last event, after the partial answer it was charged for).
    public static let serverShuttingDown = apiError(
        status: 503, code: "server_shutting_down",
        "Keygate is restarting and cut this request at the end of its shutdown grace period. Any answer above is partial "
            + "and was charged only for what was produced; retry the request.",
        retryAfter: "1")

    public static func upstreamRateLimited(provider: String, retryAfter: String?) -> GatewayError {
        GatewayError(
            status: 429, type: "rate_limit_error", code: "rate_limit_exceeded",
            message: "Provider '\(provider)' is rate limiting requests. Retry after the time in the retry-after header.",
            retryAfter: retryAfter)
    }

    /// Anthropic's 529: the provider as a whole is busy (default `retry-after`: 5 s).
    public static func upstreamOverloaded(provider: String, retryAfter: String?) -> GatewayError {
        apiError(
            status: 503, code: "upstream_overloaded", "Provider '\(provider)' is overloaded. Retry after the time in the retry-after header.",
            retryAfter: retryAfter ?? "5")
    }

    public static func upstreamFailed(provider: String, status: Int?) -> GatewayError {
        let what = status.map { "answered with HTTP \($0)" } ?? "could not be reached"
        return apiError(
            status: 502, code: "upstream_error", "Provider '\(provider)' \(what). This is not a problem with your request; retry shortly.")
    }

    public static func upstreamTimeout(provider: String, phase: String) -> GatewayError {
        apiError(
            status: 504, code: "upstream_timeout", "Provider '\(provider)' did not answer in time (\(phase)). Retry, or ask for a shorter answer.")
    }

    /// The platform's own key was refused: the caller did nothing wrong, so this is a 502, not a 401.
    public static func platformKeyRejected(provider: String) -> GatewayError {
        apiError(
            status: 502, code: "upstream_auth_failed",
            "Provider '\(provider)' refused the platform's credentials. This is not a problem with your request or your Keygate key; the operator must fix the provider key. Retry later."
        )
    }

    public static func providerNotConfigured(provider: String) -> GatewayError {
        apiError(
            status: 503, code: "provider_not_configured",
            "Provider '\(provider)' has no platform key configured on this gateway. Ask the operator to set one, or use another model.")
    }

    /// The platform's provider account is out of quota: the operator's problem, not the caller's.
    public static func platformQuotaExhausted(provider: String) -> GatewayError {
        apiError(
            status: 503, code: "upstream_quota_exhausted",
            "Provider '\(provider)' reports the platform account is out of quota. This is not a problem with your request; the operator must top up the provider account. Retry later."
        )
    }

    /// An upstream 4xx about the request itself (bad parameter, context too long): relayed with its status,
    /// under the provider's own code when it sent one.
    public static func upstreamRejectedRequest(provider: String, status: Int, message: String?, param: String?, code: String?) -> GatewayError {
        let detail = message.map { ": " + $0 } ?? "."
        return GatewayError(
            status: status, type: "invalid_request_error", code: code ?? "upstream_rejected_request",
            message: "Provider '\(provider)' rejected the request\(detail)", param: param)
    }

    // MARK: Buying credits

    public static let paymentsNotConfigured = apiError(
        status: 503, code: "payments_not_configured",
        "Buying credits is not set up on this gateway. The operator must set KEYGATE_STRIPE_SECRET_KEY and KEYGATE_STRIPE_WEBHOOK_SECRET; until then credits are granted by the operator."
    )

    public static func unknownPack(_ id: String, known: [String], param: String) -> GatewayError {
        invalidRequest(
            status: 400, code: "unknown_pack",
            "There is no credit pack '\(id)'. Use one of: \(known.joined(separator: ", ")) (GET /api/orgs/{slug}/packs lists them).", param: param)
    }

    /// Stripe refused or did not answer a call Keygate made for the caller; nothing was charged by it.
    /// `detail` is Keygate's own wording of Stripe's answer, never Stripe's text about the platform's key.
    public static func paymentProviderFailed(_ detail: String) -> GatewayError {
        apiError(
            status: 502, code: "payment_provider_error", "Stripe could not start the payment (\(detail)). Nothing was charged; try again in a moment."
        )
    }

    /// A webhook whose `Stripe-Signature` does not prove it came from Stripe: nothing was applied.
    public static func invalidWebhookSignature(_ why: String) -> GatewayError {
        invalidRequest(status: 400, code: "invalid_signature", "The Stripe-Signature header does not verify: \(why). Nothing was applied.")
    }

    public static func invalidWebhookEvent(_ why: String) -> GatewayError {
        invalidRequest(status: 400, code: "invalid_event", "The webhook body is not a Stripe event Keygate can read: \(why). Nothing was applied.")
    }

    // MARK: -

    private static func invalidRequest(status: Int = 400, code: String, _ message: String, param: String? = nil) -> GatewayError {
        GatewayError(status: status, type: "invalid_request_error", code: code, message: message, param: param)
    }

    /// Keygate's or the provider's side failed (`api_error`): never the caller's fault.
    private static func apiError(status: Int, code: String, _ message: String, retryAfter: String? = nil) -> GatewayError {
        GatewayError(status: status, type: "api_error", code: code, message: message, retryAfter: retryAfter)
    }
}
