import Crypto

/// The signature on Keygate's operator webhooks, Stripe's scheme with Keygate's header: `Keygate-Signature:
/// t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. The receiver recomputes the HMAC over the
/// exact bytes received, compares in constant time, and refuses a `t` too far from its clock (replays).
public enum OperatorWebhookSignature {
    public static let headerName = "Keygate-Signature"

    public static func header(payload: [UInt8], secret: String, timestamp: Int64) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(timestamp).".utf8) + payload, using: key)
        let hex = mac.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        return "t=\(timestamp),v1=\(hex)"
    }
}
