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
