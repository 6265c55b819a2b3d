import AsyncHTTPClient
import Foundation
import Hummingbird
import KeygateCore
import KeygateFakeUpstream
import KeygateServer
import KeygateStore
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// A real gateway on 127.0.0.1 (random port, temporary data directory) in front of a fake OpenAI-compatible
/// provider (also on a random port), with an organisation and an API key ready. The gateway runs and stops
/// as `keygate serve` does: its application (HTTP server and background services) in a `ServiceGroup`,
/// stopped gracefully, then `Gateway.shutdown()`.
final class GatewayHarness: @unchecked Sendable {
    static let platformKey = "sk-platform-SECRET-0123456789abcdef"
    static let awsAccessKeyID = "AKIAPLATFORM00000001"
    static let awsSecret = "platformAWSsecret/K7MDENG/bPxRfiCYEXAMPLE"
    static let awsPlatformCredential = #"{"accessKeyId":"\#(awsAccessKeyID)","secretAccessKey":"\#(awsSecret)","region":"us-east-1"}"#
    let fake: FakeProvider
    let fakePort: Int
    let gateway: Gateway
    let port: Int
    let dataDirectory: String
    let apiKey: String
    let apiKeyID: String
    let organization: Organization
    let logs: LogCapture
    let client: HTTPClient
    /// Runs the gateway's application; a graceful shutdown of it is what SIGTERM does to `keygate serve`.
    private let services: ServiceGroup
    private let gatewayTask: Task<Void, Error>
    private let fakeTask: Task<Void, Error>

    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(
        fake: FakeProvider, fakePort: Int, gateway: Gateway, port: Int, dataDirectory: String, apiKey: String, apiKeyID: String,
        organization: Organization, logs: LogCapture, client: HTTPClient, services: ServiceGroup,
        gatewayTask: Task<Void, Error>, fakeTask: Task<Void, Error>
    ) {
        self.fake = fake
        self.fakePort = fakePort
        self.gateway = gateway
        self.port = port
        self.dataDirectory = dataDirectory
        self.apiKey = apiKey
        self.apiKeyID = apiKeyID
        self.organization = organization
        self.logs = logs
        self.client = client
        self.services = services
        self.gatewayTask = gatewayTask
        self.fakeTask = fakeTask
    }

    /// Starts everything. `environment` adds to / overrides the defaults (platform key and base URLs of
    /// openai, groq, moonshot and nvidia pointing at the fake).
    /// `configFile` is read as `keygate serve --config` reads it (the environment winning over it).
    static func start(
        environment extra: [String: String] = [:], fakeKey: String? = platformKey,
        startingCredits: MicroCredits = .credits(1000), configFile: String? = nil
    ) async throws -> GatewayHarness {
        let fake = FakeProvider(expectedKey: fakeKey)
        let (fakePort, fakeTask) = try await startServer { onRunning in try await fake.run(port: 0, onRunning: onRunning) }

        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-test-\(UUID().uuidString)").path
        var environment: [String: String] = ["KEYGATE_DATA_DIR": dataDirectory]
        for provider in ["OPENAI", "GROQ", "MOONSHOT", "NVIDIA", "OPENROUTER", "OPENAI_RESPONSES"] {
            environment["KEYGATE_PROVIDER_\(provider)_BASE_URL"] = "http://127.0.0.1:\(fakePort)/v1"
            environment["KEYGATE_PROVIDER_\(provider)_API_KEY"] = platformKey
        }
        environment["KEYGATE_PROVIDER_AWS_BASE_URL"] = "http://127.0.0.1:\(fakePort)"
        // Anthropic's base URL is the host: Keygate appends /v1/messages.
        environment["KEYGATE_PROVIDER_ANTHROPIC_BASE_URL"] = "http://127.0.0.1:\(fakePort)"
        environment["KEYGATE_PROVIDER_ANTHROPIC_API_KEY"] = platformKey
        environment["KEYGATE_PROVIDER_AZURE_BASE_URL"] = "http://127.0.0.1:\(fakePort)"
        environment["KEYGATE_PROVIDER_AZURE_RESPONSES_BASE_URL"] = "http://127.0.0.1:\(fakePort)"
        environment["KEYGATE_PROVIDER_GOOGLE_BASE_URL"] = "http://127.0.0.1:\(fakePort)"
        environment["KEYGATE_PROVIDER_GOOGLE_API_KEY"] = platformKey
        environment["KEYGATE_PROVIDER_AWS_API_KEY"] = awsPlatformCredential
        environment.merge(extra) { $1 }
        var config: GatewayConfiguration
        if let configFile {
            config = try await GatewayConfiguration.load(environment: environment, configFile: configFile)
        } else {
            config = try GatewayConfiguration.fromEnvironment(environment)
        }
        config.host = "127.0.0.1"
        config.port = 0
        let logs = LogCapture()
        let gateway = try await Bootstrap.gateway(config, logger: logs.logger())
        let admin = AdminService(store: gateway.store)
        let org = try await admin.createOrganization(slug: "acme", name: "Acme")
        let (record, plaintext) = try await admin.createAPIKey(organizationSlug: "acme", name: "test", isAdmin: false)
        try await gateway.store.addCredits(organizationID: org.id, amount: startingCredits, kind: .grant, reason: "test", trialExpiresAt: nil)

        let (ports, portsContinuation) = AsyncStream<Int>.makeStream()
        let app = GatewayServer.application(gateway: gateway, host: "127.0.0.1", port: 0) { port in portsContinuation.yield(port) }
        let services = ServiceGroup(configuration: .init(services: [app], logger: logs.logger()))
        let (port, gatewayTask) = try await startServer({ try await services.run() }, ports: ports)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        return GatewayHarness(
            fake: fake, fakePort: fakePort, gateway: gateway, port: port, dataDirectory: dataDirectory,
            apiKey: plaintext, apiKeyID: record.id, organization: org, logs: logs, client: client,
            services: services, gatewayTask: gatewayTask, fakeTask: fakeTask)
    }

    private static func startServer(
        _ run: @escaping @Sendable (@escaping @Sendable (Int) async -> Void) async throws -> Void
    ) async throws -> (Int, Task<Void, Error>) {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        return try await startServer({ try await run { port in continuation.yield(port) } }, ports: ports)
    }

    /// Starts `run` and waits for the port it reports on `ports`.
    private static func startServer(
        _ run: @escaping @Sendable () async throws -> Void, ports: AsyncStream<Int>
    ) async throws -> (Int, Task<Void, Error>) {
        let task = Task { try await run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return (port, task)
    }

    /// Stops the gateway's application gracefully, as SIGTERM stops `keygate serve`: the HTTP server finishes
    /// the requests in flight, the usage recorder writes what is queued, the sweeper stops. The store stays
    /// open (`stop()` closes it). Safe to call more than once.
    func stopServing() async {
        await services.triggerGracefulShutdown()
        _ = await gatewayTask.result
    }

    func stop() async {
        try? await client.shutdown()
        await stopServing()
        fakeTask.cancel()
        _ = await fakeTask.result
        await gateway.shutdown()
        try? FileManager.default.removeItem(atPath: dataDirectory)
    }

    // MARK: Requests

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
        var error: [String: Any]? { json?["error"] as? [String: Any] }
    }

    func request(
        _ method: HTTPMethod = .POST, _ path: String, body: String? = nil, key: String?? = .none,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        switch key {
        case .none: request.headers.add(name: "authorization", value: "Bearer " + apiKey)
        case .some(.some(let key)): request.headers.add(name: "authorization", value: "Bearer " + key)
        case .some(.none): break
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Array(bytes.readableBytesView))
    }

    func chat(
        _ content: String, model: String = "openai/gpt-5.6-luna", stream: Bool = false, includeUsage: Bool? = nil, extra: String = ""
    ) async throws -> Reply {
        try await request(
            .POST, "/v1/chat/completions", body: Self.chatBody(content, model: model, stream: stream, includeUsage: includeUsage, extra: extra))
    }

    static func chatBody(
        _ content: String, model: String = "openai/gpt-5.6-luna", stream: Bool = false, includeUsage: Bool? = nil, extra: String = ""
    ) -> String {
        var body = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(content)"}]"#
        if stream { body += #","stream":true"# }
        if let includeUsage { body += #","stream_options":{"include_usage":\#(includeUsage)}"# }
        return body + extra + "}"
    }

    /// Stores an organisation's own key through the same service the CLI and API use.
    @discardableResult
    func addBYOKKey(
        _ secret: String, provider: String = "openai", organization: String = "acme", validate: Bool = false
    ) async throws -> BYOKKeyRecord {
        try await BYOKService(gateway: gateway).add(organizationSlug: organization, provider: provider, secret: .string(secret), validate: validate)
    }

    /// The key the fake provider received on its last request.
    var lastKeyReceived: String? {
        fake.requests.last?.headers["authorization"].map { $0.replacingOccurrences(of: "Bearer ", with: "") }
    }

    /// The usage records of the test organisation, newest first, once `count` exist (they are written just
    /// after the response is sent).
    func usageRecords(atLeast count: Int = 1) async throws -> [UsageRecord] {
        for _ in 0..<200 {
            let records = try await gateway.store.usageRecords(organizationID: organization.id, limit: 100)
            if records.count >= count { return records }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await gateway.store.usageRecords(organizationID: organization.id, limit: 100)
    }
}

/// Runs `body` against a fresh harness and always stops it.
func withHarness(
    environment: [String: String] = [:], fakeKey: String? = GatewayHarness.platformKey,
    startingCredits: MicroCredits = .credits(1000), configFile: String? = nil, _ body: (GatewayHarness) async throws -> Void
) async throws {
    let harness = try await GatewayHarness.start(
        environment: environment, fakeKey: fakeKey, startingCredits: startingCredits, configFile: configFile)
    do {
        try await body(harness)
    } catch {
        await harness.stop()
        throw error
    }
    await harness.stop()
}

/// SSE `data:` payloads of a streamed body, in order.
func ssePayloads(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").compactMap { event in
        let lines = event.split(separator: "\n").filter { $0.hasPrefix("data:") }
        guard !lines.isEmpty else { return nil }
        return lines.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) }.joined(separator: "\n")
    }
}
