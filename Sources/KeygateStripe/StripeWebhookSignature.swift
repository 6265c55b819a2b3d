import Crypto

/// Stripe's webhook signature: header `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, possibly with
/// several `v1` (during a secret roll) and other schemes (`v0`), which are ignored.
///
/// Stricter than stripe-python on purpose: a timestamp too far in the future is refused as well as a stale one.
public enum StripeWebhookSignature {
    public static let headerName = "Stripe-Signature"
    public static let defaultTolerance: Int64 = 300

    /// Accepts when any `v1` matches (compared in constant time) and `|now - t| <= tolerance`.
    public static func verify(
        payload: [UInt8], header: String?, secret: String, now: Int64, tolerance: Int64 = defaultTolerance
    ) throws(StripeSignatureError) {
        guard let header, !trimmed(header).isEmpty else { throw .missingHeader }
        var timestampText: String?
        var sawV1 = false
        var candidates: [[UInt8]] = []
        for element in header.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = element.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .malformedHeader }
            let key = trimmed(parts[0]), value = trimmed(parts[1])
            switch key {
            case "t":
                guard timestampText == nil, !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                    throw .malformedHeader
                }
                timestampText = value
            case "v1":
                sawV1 = true
                // A value that is not 32 bytes of hex can never match: it is skipped rather than refusing the header.
                if let bytes = hexBytes(value), bytes.count == SHA256.byteCount { candidates.append(bytes) }
            default:
                continue
            }
        }
        guard let timestampText, let timestamp = Int64(timestampText) else { throw .malformedHeader }
        guard sawV1 else { throw .malformedHeader }

        let key = SymmetricKey(data: Array(secret.utf8))
        let signed = Array(timestampText.utf8) + [UInt8(ascii: ".")] + payload
        var matched = false
        for candidate in candidates {
            // Every candidate is checked (no early exit), each in constant time.
            if HMAC<SHA256>.isValidAuthenticationCode(candidate, authenticating: signed, using: key) { matched = true }
        }
        guard matched else { throw .noValidSignature }

        let (difference, overflow) = now.subtractingReportingOverflow(timestamp)
        guard !overflow, difference.magnitude <= tolerance.magnitude else { throw .timestampOutsideTolerance }
    }

    /// A header signing `payload` at `timestamp`, as Stripe would send it (for tests and the fake Stripe).
    public static func header(payload: [UInt8], secret: String, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(signature(payload: payload, secret: secret, timestamp: timestamp))"
    }

    /// The lower-case hex `v1` signature.
    public static func signature(payload: [UInt8], secret: String, timestamp: Int64) -> String {
        let code = HMAC<SHA256>.authenticationCode(
            for: Array(String(timestamp).utf8) + [UInt8(ascii: ".")] + payload, using: SymmetricKey(data: Array(secret.utf8)))
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        for byte in code {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    static func trimmed(_ text: some StringProtocol) -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(String(text.drop(while: isBlank).reversed().drop(while: isBlank).reversed()))
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
