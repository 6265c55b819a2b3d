import Crypto
import Foundation

/// AWS Signature Version 4 (as botocore's `SigV4Auth` signs), for Bedrock requests.
///
/// Checked against the AWS test suite vectors (`get-vanilla`, `post-vanilla`) and a botocore-derived Bedrock
/// example in the tests. The secret access key only ever enters an HMAC; it is never part of any output.
public struct SigV4Signer: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var region: String
    public var service: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, region: String, service: String = "bedrock") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
        self.service = service
    }

    /// The headers to add to a request: `x-amz-date`, `x-amz-security-token` (temporary credentials) and
    /// `authorization`. `headers` are the ones the request will carry (names any case); `host` is taken from
    /// the URL. `path` must already be percent-encoded as it goes on the wire.
    public func sign(
        method: String, url: URL, headers: [(name: String, value: String)], body: [UInt8], date: Date = Date()
    ) -> [(name: String, value: String)] {
        let amzDate = Self.timestamp(date)
        let day = String(amzDate.prefix(8))
        var signed: [(String, String)] = headers.map { ($0.name.lowercased(), Self.trim($0.value)) }
            .filter { !Self.unsignedHeaders.contains($0.0) }
        var host = url.host ?? ""
        if let port = url.port, !(url.scheme == "https" && port == 443) && !(url.scheme == "http" && port == 80) { host += ":\(port)" }
        signed.append(("host", host))
        signed.append(("x-amz-date", amzDate))
        if let sessionToken { signed.append(("x-amz-security-token", sessionToken)) }
        signed.sort { $0.0 < $1.0 }
        let signedNames = signed.map(\.0).joined(separator: ";")

        let canonical = [
            method.uppercased(),
            Self.canonicalURI(url),
            Self.canonicalQuery(url),
            signed.map { "\($0.0):\($0.1)\n" }.joined(),
            signedNames,
            Self.hex(SHA256.hash(data: body)),
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Data(canonical.utf8)))].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))

        var out: [(name: String, value: String)] = [("x-amz-date", amzDate)]
        if let sessionToken { out.append(("x-amz-security-token", sessionToken)) }
        out.append(("authorization", "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)"))
        return out
    }

    func signingKey(day: String) -> SymmetricKey {
        func hmac(_ key: SymmetricKey, _ text: String) -> SymmetricKey {
            SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
        }
        let date = hmac(SymmetricKey(data: Data(("AWS4" + secretAccessKey).utf8)), day)
        return hmac(hmac(hmac(date, region), service), "aws4_request")
    }

    static let unsignedHeaders: Set<String> = [
        "user-agent", "expect", "connection", "keep-alive", "transfer-encoding", "x-amzn-trace-id", "authorization",
    ]

    static func timestamp(_ date: Date) -> String {
        var time = tm()
        var seconds = time_t(date.timeIntervalSince1970)
        gmtime_r(&seconds, &time)
        return String(
            format: "%04d%02d%02dT%02d%02d%02dZ", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday, time.tm_hour, time.tm_min, time.tm_sec)
    }

    static func trim(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// Non-S3 services sign the already-encoded path encoded once more (`%3A` → `%253A`).
    static func canonicalURI(_ url: URL) -> String {
        let path = url.path(percentEncoded: true)
        return path.isEmpty ? "/" : URLText.percentEncoded(path, keepSlash: true)
    }

    static func canonicalQuery(_ url: URL) -> String {
        guard let query = url.query(percentEncoded: true), !query.isEmpty else { return "" }
        var pairs: [(key: String, value: String)] = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            let value = parts.count > 1 ? parts[1] : ""
            pairs.append((URLText.percentEncoded(parts[0]), URLText.percentEncoded(value)))
        }
        pairs.sort { (a: (key: String, value: String), b: (key: String, value: String)) -> Bool in
            a.key == b.key ? a.value < b.value : a.key < b.key
        }
        return pairs.map { $0.key + "=" + $0.value }.joined(separator: "&")
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
