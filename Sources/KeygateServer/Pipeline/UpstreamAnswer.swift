import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What a watched upstream exchange produced.
enum UpstreamAnswer: Sendable {
    /// A 2xx streamed answer: the head is in, the body is still to relay.
    case stream(HTTPClientResponse)
    /// A whole answer (any status).
    case complete(status: Int, headers: HTTPHeaders, body: ByteBuffer)
}
