import Hummingbird
import KeygateCore
import NIOCore

extension Request {
    /// The whole body of an API request, at most `limit` bytes. A body declared or found larger is a 413;
    /// any other failure (the client hung up mid-body) is passed on as it is, not mistaken for a 413.
    func collectAPIBody(limit: Int) async throws -> [UInt8] {
        if let declared = headers[.contentLength].flatMap(Int.init), declared > limit {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
        do {
            return Array(try await body.collect(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw GatewayError.bodyTooLarge(limit: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw GatewayError.bodyTooLarge(limit: limit)
        }
    }
}

extension Request {
    /// The body of a management API request as a JSON object; `expected` names its fields for the error.
    func collectJSONObject(limit: Int, expected: String) async throws -> JSONValue {
        let bytes = try await collectAPIBody(limit: limit)
        let body: JSONValue
        do { body = try JSONValue.decode(bytes) } catch { throw GatewayError.invalidJSON("it could not be parsed") }
        guard case .object = body else { throw GatewayError.invalidJSON("expected an object with \(expected)") }
        return body
    }
}
