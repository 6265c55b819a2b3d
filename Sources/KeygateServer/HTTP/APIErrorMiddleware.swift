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
