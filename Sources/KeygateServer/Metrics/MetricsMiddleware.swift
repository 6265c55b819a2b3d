import Hummingbird
import KeygateCore

/// Counts every HTTP request by its route pattern and status class, and every 402 by its reason. Sits inside
/// `APIErrorMiddleware`, so an error is counted with the status it is rendered with.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.httpRequest(route: context.endpointPath ?? "unmatched", status: response.status.code)
            return response
        } catch {
            let status: Int
            switch error {
            case let error as GatewayError:
                status = error.statusCode
                if status == 402 { metrics.paymentRequired(reason: error.code ?? error.type) }
            case let error as any HTTPResponseError: status = error.status.code
            default: status = 500
            }
            metrics.httpRequest(route: context.endpointPath ?? "unmatched", status: status)
            throw error
        }
    }
}
