import AsyncHTTPClient
import Foundation
import KeygateCore
import KeygateStripe
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends `StripeRequest`s to Stripe's API: `Authorization: Bearer`, the pinned `Stripe-Version`, the request's
/// `Idempotency-Key` on every POST, and retries of what Stripe says may be retried (429, 409, 5xx, a timeout,
/// a lost connection), with back-off.
///
/// Invariant: a retry re-sends the same idempotency key, so Stripe answers it with the first attempt's result:
/// a retry after a timeout can never charge twice. The secret is sent in the header and nowhere else: no
/// error, log line or description carries it.
public final class StripeClient: Sendable {
    private let http: HTTPClient
    private let baseURL: String
    private let secretKey: String
    private let attempts: Int
    private let timeout: TimeAmount
    private let logger: Logger

    public init(settings: PaymentSettings, secretKey: String, logger: Logger, attempts: Int = 3) {
        let timeout = TimeAmount.seconds(settings.stripeTimeoutSeconds)
        var config = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: timeout),
            connectionPool: .init(idleTimeout: .seconds(60)))
        config.httpVersion = .automatic
        self.http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: config)
        self.baseURL = settings.stripeBaseURL
        self.secretKey = secretKey
        self.attempts = attempts
        self.timeout = timeout
        self.logger = logger
    }

    /// Sends `request` and returns the answer's JSON; throws `StripeCallError`.
    public func send(_ request: StripeRequest) async throws(StripeCallError) -> JSONValue {
        var attempt = 0
        while true {
            attempt += 1
            let failure: StripeCallError
            do {
                return try await sendOnce(request)
            } catch {
                failure = error
            }
            guard failure.isRetryable, attempt < attempts else { throw failure }
            // 0.5 s, 1 s, … with jitter, so that replicas retrying together do not collide again.
            let delay = Double(1 << (attempt - 1)) * 0.5 * Double.random(in: 0.8...1.2)
            logger.warning(
                "Stripe call failed; retrying with the same idempotency key",
                metadata: ["path": "\(request.path)", "attempt": "\(attempt)", "error": "\(failure)"])
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
        }
    }

    private func sendOnce(_ request: StripeRequest) async throws(StripeCallError) -> JSONValue {
        var outgoing = HTTPClientRequest(url: baseURL + request.pathAndQuery)
        if let body = request.body {
            outgoing.method = .POST
            outgoing.headers.add(name: "content-type", value: StripeRequest.formContentType)
            outgoing.body = .bytes(ByteBuffer(bytes: body))
            if let key = request.idempotencyKey { outgoing.headers.add(name: "idempotency-key", value: key) }
        } else {
            outgoing.method = .GET
        }
        outgoing.headers.add(name: "authorization", value: "Bearer " + secretKey)
        outgoing.headers.add(name: "stripe-version", value: StripeAPIVersion.pinned)
        outgoing.headers.add(name: "user-agent", value: "keygate")
        let status: Int
        let bytes: [UInt8]
        let shouldRetry: String?
        do {
            let response = try await http.execute(outgoing, timeout: timeout)
            status = Int(response.status.code)
            shouldRetry = response.headers.first(name: "stripe-should-retry")
            bytes = Array(try await response.body.collect(upTo: 4 << 20).readableBytesView)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            throw .timeout
        } catch {
            // AsyncHTTPClient's errors name hosts and ports, never headers: safe to keep as text.
            throw .unreachable(String(describing: error))
        }
        guard (200..<300).contains(status) else {
            throw .api(StripeAPIError(httpStatus: status, body: bytes), shouldRetry: shouldRetry.map { $0 == "true" })
        }
        do {
            return try JSONValue.decode(bytes)
        } catch {
            throw .unexpectedAnswer("Stripe answered \(status) with a body that is not JSON")
        }
    }

    public func shutdown() async {
        try? await http.shutdown()
    }
}

/// Why a Stripe call did not give an answer to act on.
public enum StripeCallError: Error, Sendable, CustomStringConvertible {
    /// Stripe answered with an error object; `shouldRetry` is its `Stripe-Should-Retry` header, which wins.
    case api(StripeAPIError, shouldRetry: Bool?)
    /// No answer in time: the request may or may not have been carried out (a retry with the same key is safe).
    case timeout
    /// No connection.
    case unreachable(String)
    case unexpectedAnswer(String)

    var isRetryable: Bool {
        switch self {
        case .api(let error, let shouldRetry): shouldRetry ?? error.isRetryable
        case .timeout, .unreachable: true
        case .unexpectedAnswer: false
        }
    }

    /// True when Stripe may have carried the request out although no answer came back.
    public var outcomeUnknown: Bool {
        switch self {
        case .timeout, .unreachable: true
        case .api(let error, _): (error.httpStatus ?? 0) >= 500
        case .unexpectedAnswer: true
        }
    }

    public var description: String {
        switch self {
        case .api(let error, _): "Stripe refused the request: \(error)"
        case .timeout: "Stripe did not answer in time"
        case .unreachable(let detail): "Stripe could not be reached (\(detail))"
        case .unexpectedAnswer(let detail): detail
        }
    }
}

extension StripeCallError {
    /// What a caller may be told: Stripe's own words, except about the platform's key (Stripe's 401 text
    /// quotes part of it), which only the operator can fix.
    var callerFacingDetail: String {
        switch self {
        case .api(let error, _) where error.httpStatus == 401 || error.httpStatus == 403:
            "Stripe refused the platform's key; the operator must check KEYGATE_STRIPE_SECRET_KEY"
        case .api(let error, _): error.customerFacingReason
        case .timeout: "Stripe did not answer in time"
        case .unreachable: "Stripe could not be reached"
        case .unexpectedAnswer: "Stripe's answer could not be read"
        }
    }
}
