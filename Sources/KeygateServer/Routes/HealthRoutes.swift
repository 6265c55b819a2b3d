import Hummingbird
import KeygateStore

/// `/healthz`: the process answers. `/readyz`: it can also reach its database.
struct HealthRoutes: Sendable {
    let store: any StoreLifecycle

    func health(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
    }

    func ready(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        do {
            try await store.checkReachable()
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ready\"}")))
        } catch {
            context.logger.warning("Readiness check failed: database unreachable")
            return Response(
                status: .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"unavailable\",\"reason\":\"database unreachable\"}")))
        }
    }
}
