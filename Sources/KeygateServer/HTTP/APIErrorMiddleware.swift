import HTTPTypes
import Hummingbird
import KeygateCore

/// Outermost middleware: stamps every response with `x-request-id` and renders every error, whatever threw
/// it, as an OpenAI error body. Unexpected errors are logged and answered with a 500 that names the request id
/// but says nothing about the cause (which could hold internal detail).
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let bodyLimit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = context.requestID
            return response
        } catch {
            let gatewayError: GatewayError
            switch error {
            case let e as GatewayError: gatewayError = e
            case let e as HTTPError: gatewayError = .from(e, path: request.uri.path, bodyLimit: bodyLimit)
            default:
                context.logger.error("Unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                gatewayError = .internalError(requestID: context.requestID)
            }
            var response = gatewayError.makeResponse(anthropicFormat: request.uri.path == "/v1/messages")
            response.headers[.requestID] = context.requestID
            if request.uri.path.hasPrefix("/v1/") {
                response.headers[.keygateBilling] = gatewayError.billing?.rawValue ?? BillingHeader.none
            }
            return response
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("x-request-id")!
    static let keygateBilling = HTTPField.Name("x-keygate-billing")!
    static let keygateCreditsCharged = HTTPField.Name("x-keygate-credits-charged")!
    static let keygateProvider = HTTPField.Name("x-keygate-provider")!
    /// The masked preview of the organisation's key that paid (BYOK requests): a receipt, never the key.
    static let keygateBYOKKey = HTTPField.Name("x-keygate-byok-key")!
    static let byokProvider = HTTPField.Name("x-byok-provider")!
    static let retryAfterMs = HTTPField.Name("retry-after-ms")!
}

enum BillingHeader {
    /// The request never reached a provider (rejected before routing): nobody was billed.
    static let none = "none"
}
