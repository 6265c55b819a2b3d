import Foundation
import HTTPTypes
import Hummingbird
import KeygateCore

/// A `GatewayError` renders itself as an OpenAI error body, like Hummingbird's own `HTTPError`.
extension GatewayError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        makeResponse()
    }

    func makeResponse(anthropicFormat: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: anthropicFormat ? anthropicBodyBytes : bodyBytes)))
    }

    /// Anthropic's error body (`{"type":"error","error":{"type","message"}}`), for `/v1/messages` clients.
    public var anthropicBodyBytes: [UInt8] {
        let type: String
        switch statusCode {
        case 400: type = "invalid_request_error"
        case 401: type = "authentication_error"
        case 402: type = "billing_error"
        case 403: type = "permission_error"
        case 404: type = "not_found_error"
        case 413: type = "request_too_large"
        case 429: type = "rate_limit_error"
        case 503: type = "overloaded_error"
        case 504: type = "timeout_error"
        default: type = "api_error"
        }
        return JSONValue.object(["type": .string("error"), "error": .object(["type": .string(type), "message": .string(message)])]).encoded()
    }

    /// `{"error":{"message","type","param","code"}}`.
    public var bodyBytes: [UInt8] {
        let object: JSONValue = .object([
            "error": .object([
                "message": .string(message),
                "type": .string(type),
                "param": param.map(JSONValue.string) ?? .null,
                "code": code.map(JSONValue.string) ?? .null,
            ])
        ])
        return object.encoded()
    }

    /// The same error as one SSE event, for failures after a stream has started.
    public var sseEventBytes: [UInt8] {
        Array("data: ".utf8) + bodyBytes + Array("\n\n".utf8)
    }

    /// Maps Hummingbird's own errors (unknown route, body too large, …) into the OpenAI format.
    static func from(_ error: HTTPError, path: String, bodyLimit: Int) -> GatewayError {
        switch error.status {
        case .notFound: return .routeNotFound(path)
        case .contentTooLarge: return .bodyTooLarge(limit: bodyLimit)
        case .methodNotAllowed: return .methodNotAllowed(path)
        default: return .unmappedHTTPError(status: error.status.code, message: error.body ?? error.status.reasonPhrase)
        }
    }
}
