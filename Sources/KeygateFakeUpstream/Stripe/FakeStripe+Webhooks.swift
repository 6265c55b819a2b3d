import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// Sending events as Stripe does: `POST` of the event's exact bytes with `Content-Type: application/json;
/// charset=utf-8` and `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
extension FakeStripe {
    /// The `Stripe-Signature` header for `body` signed with `secret` at `timestamp`.
    public func signedHeader(for body: [UInt8], secret: String, timestamp: Int64) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + body, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Delivers `event` to `url`, signed with `secret` at `timestamp` (now when nil: Stripe signs when it
    /// sends). `extraSignatures` are more `v1` values, placed before the right one (as when a secret is being
    /// rolled). Returns the HTTP status the endpoint answered.
    public func deliver(
        _ event: FakeStripeEvent, to url: String, secret: String, timestamp: Int64? = nil, extraSignatures: [String] = []
    ) async throws -> Int {
        let signed = signedHeader(for: event.json, secret: secret, timestamp: timestamp ?? Int64(Date().timeIntervalSince1970))
        let parts = signed.split(separator: ",", maxSplits: 1).map(String.init)
        let header = ([parts[0]] + extraSignatures.map { "v1=" + $0 } + [parts[1]]).joined(separator: ",")
        return try await post(event.json, signature: header, to: url)
    }

    /// Posts `body` as a webhook delivery with exactly this `Stripe-Signature` (none when nil): for tampered
    /// bodies and malformed headers.
    public func post(_ body: [UInt8], signature: String?, to url: String) async throws -> Int {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        if let signature { request.headers.add(name: "Stripe-Signature", value: signature) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
