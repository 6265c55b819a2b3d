import Foundation
import Testing
@testable import KeygateCore
@testable import KeygateServer
import KeygateStore

/// The error catalog (`GatewayError+Catalog.swift`): one factory per code, every code once, every error in the
/// OpenAI format.
@Suite struct ErrorCatalogTests {
    static let estimate = CreditEstimate(
        promptTokens: 12, maxOutputTokens: 100, maxOutputSource: "max_tokens",
        cost: MicroCredits(1_500), fee: MicroCredits(75), reservation: MicroCredits(1_575))

    /// One error from every factory of the catalog (each wording of a code with several).
    static let samples: [GatewayError] = [
        .missingAPIKey,
        .invalidAPIKey,
        .badRequest("'model' must not be empty.", param: "model"),
        .invalidValue("'limit' must be an integer from 1 to 1000.", param: "limit"),
        .unsupportedContent("'audio' in messages[0].content is not supported.", param: "messages[0].content"),
        .invalidImage("An image data URL in messages[0].content must be base64.", param: "messages[0].content"),
        .duplicateField("model"),
        .invalidJSON("it could not be parsed"),
        .missingField("model", expected: "a string"),
        .wrongType("model", expected: "a string", found: "a number"),
        .modelNotFound("nope/none"),
        .modelNotFound("vendor/new-model", unpricedOn: "openrouter"),
        .bodyTooLarge(limit: 1024),
        .routeNotFound("/nowhere"),
        .methodNotAllowed("/v1/models"),
        .internalError(requestID: "req_1"),
        .clientDisconnected,
        .organizationNotFound("acme", in: .callerKey),
        .organizationNotFound("acme", in: .database),
        .organizationNotFound("acme", in: .member),
        .adminKeyRequired(organization: "acme"),
        .organizationExists("acme"),
        .organizationSuspended("acme"),
        .operatorTokenRequired,
        .operatorTokenInvalid,
        .organizationAdminRequired(organization: "acme"),
        .csrfRejected,
        .signInRequired,
        .metricsTokenRequired,
        .apiKeyNotFound("key_123"),
        .insufficientCredits(estimate: estimate, available: MicroCredits(10), provider: "openai", organization: "acme"),
        .insufficientCreditsForJob(amount: MicroCredits(400_000_000), available: MicroCredits(10), organization: "acme"),
        .jobExhausted(jobID: "job_1", estimate: estimate, remaining: MicroCredits(5), amount: MicroCredits(100), charged: MicroCredits(90)),
        .jobNotFound("job_1"),
        .jobClosed("job_1", status: "completed"),
        .unknownTier("huge", known: ["quick-scan"]),
        .unknownTier("huge", known: []),
        .unknownBYOKProvider("nope"),
        .unknownBYOKProvider("nope", in: .keyBody),
        .byokKeyRequired(provider: "anthropic", organization: "acme"),
        .byokKeyNotFound("byok_1"),
        .byokKeyInvalid(providerName: "Anthropic", status: 401),
        .byokValidationUnavailable(providerName: "Anthropic", why: "timed out"),
        .byokKeyRejected(provider: "anthropic", preview: "sk-a…xyz", status: 401),
        .byokKeyUnreadable(.undecryptable(provider: "anthropic", preview: "sk-a…xyz")),
        .byokKeyUnreadable(.azureNotExpectedJSON(needsDeployment: true)),
        .awsCredentialUnreadable,
        .serverShuttingDown,
        .upstreamStreamCut(provider: "openai"),
        .upstreamRateLimited(provider: "openai", retryAfter: "3"),
        .upstreamOverloaded(provider: "anthropic", retryAfter: nil),
        .upstreamFailed(provider: "openai", status: 500),
        .upstreamTimeout(provider: "openai", phase: "first byte"),
        .platformKeyRejected(provider: "openai"),
        .providerNotConfigured(provider: "openai"),
        .platformQuotaExhausted(provider: "openai"),
        .upstreamRejectedRequest(provider: "openai", status: 400, message: "bad", param: nil, code: nil),
        .paymentsNotConfigured,
        .unknownPack("huge", known: ["starter", "pro"], param: "pack"),
        .paymentProviderFailed("Stripe did not answer in time"),
        .invalidWebhookSignature("the timestamp is more than 300 seconds from now"),
        .invalidWebhookEvent("it is not JSON"),
    ]

    /// The codes the catalog's source names, in order (`code: "…"`, or a default after `code: x ??`).
    static func catalogCodes() throws -> [String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: root.appendingPathComponent("Sources/KeygateCore/Errors/GatewayError+Catalog.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"code: (?:[a-z]+ \?\? )?"([a-z0-9_]+)""#)
        return pattern.matches(in: source, range: NSRange(source.startIndex..., in: source)).map {
            String(source[Range($0.range(at: 1), in: source)!])
        }
    }

    @Test func everyCodeIsBuiltInOnePlace() throws {
        let codes = try Self.catalogCodes()
        #expect(codes.count > 30)
        #expect(Set(codes).count == codes.count, "a code built twice: \(codes.sorted())")
        // Every factory has a sample above, so that the next test renders it.
        #expect(Set(Self.samples.compactMap(\.code)) == Set(codes))
    }

    @Test func everyFactoryRendersTheOpenAIErrorFormat() throws {
        for error in Self.samples {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(error.bodyBytes)) as? [String: Any])
            #expect(Array(object.keys) == ["error"])
            let body = try #require(object["error"] as? [String: Any])
            #expect(Set(body.keys) == ["message", "type", "param", "code"], "\(error)")
            #expect((body["message"] as? String)?.isEmpty == false)
            #expect(body["message"] as? String == error.message)
            #expect(body["type"] as? String == error.type)
            #expect(body["code"] as? String == error.code)
            #expect((body["param"] as? String) == error.param)
            #expect((400...599).contains(error.statusCode), "\(error)")
        }
    }
}
