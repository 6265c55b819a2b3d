import AsyncHTTPClient
import Foundation
import KeygateCore
import KeygateVault
import Logging
import NIOCore
import NIOHTTP1

/// Tells the operator of events they should act on (`KEYGATE_OPERATOR_WEBHOOK_URL`), signed with
/// `KEYGATE_OPERATOR_WEBHOOK_SECRET` (`OperatorWebhookSignature`). Off the request path; a delivery that fails
/// is retried a few times, then logged (the state it reports is in the database either way). An event never
/// carries a secret: keys are named by id and preview.
struct OperatorWebhook: Sendable {
    let url: String
    let secret: String
    let client: HTTPClient
    let logger: Logger
    /// Waits between attempts (three attempts in all).
    var retryDelays: [Duration] = [.seconds(1), .seconds(5)]

    /// The event as sent: `{"id", "type", "created", "data"}` (`created` in Unix seconds).
    static func payload(id: String, type: String, created: Int64, data: JSONObject) -> [UInt8] {
        let event: JSONValue = .object(["id": .string(id), "type": .string(type), "created": .number(String(created)), "data": .object(data)])
        return event.encoded()
    }

    /// Sends one event; returns whether the receiver accepted it (2xx).
    @discardableResult
    func send(type: String, data: JSONObject) async -> Bool {
        let id = Identifiers.make("evt")
        let payload = Self.payload(id: id, type: type, created: WallClock.nowMs() / 1000, data: data)
        for attempt in 0...retryDelays.count {
            if attempt > 0 { try? await Task.sleep(for: retryDelays[attempt - 1]) }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: "Keygate-Webhooks/1")
            request.headers.add(
                name: OperatorWebhookSignature.headerName,
                value: OperatorWebhookSignature.header(payload: payload, secret: secret, timestamp: WallClock.nowMs() / 1000))
            request.body = .bytes(ByteBuffer(bytes: payload))
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 64 << 10)
                if (200..<300).contains(response.status.code) { return true }
                logger.warning(
                    "Operator webhook refused an event", metadata: ["event": "\(id)", "type": "\(type)", "status": "\(response.status.code)"])
            } catch {
                logger.warning("Operator webhook unreachable", metadata: ["event": "\(id)", "type": "\(type)", "error": "\(error)"])
            }
        }
        logger.error("Operator webhook event not delivered", metadata: ["event": "\(id)", "type": "\(type)"])
        return false
    }
}
