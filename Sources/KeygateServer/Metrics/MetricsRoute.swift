import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateVault

/// `GET /metrics`: the Prometheus text format, as swift-prometheus writes the gateway's registry. With
/// `KEYGATE_METRICS_TOKEN` set, only `Authorization: Bearer <token>` gets it (compared as hashes, in constant time).
struct MetricsRoute: Sendable {
    let metrics: GatewayMetrics
    /// SHA-256 of the token, nil when scraping is open.
    private let tokenHash: [UInt8]?

    init(metrics: GatewayMetrics) {
        self.metrics = metrics
        self.tokenHash = metrics.settings.token.map { APIKeyGenerator.hash($0) }
    }

    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        if let tokenHash {
            let header = request.headers[.authorization] ?? ""
            guard header.hasPrefix("Bearer "), APIKeyGenerator.matches(String(header.dropFirst(7)), storedHash: tokenHash) else {
                var response = GatewayError.metricsTokenRequired.makeResponse(anthropicFormat: false)
                response.headers[.wwwAuthenticate] = "Bearer"
                return response
            }
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
    }
}
