import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// The benchmark's reference point: the least a Swift gateway on this stack (Hummingbird 2 +
/// AsyncHTTPClient) can do per request. It forwards `POST /v1/chat/completions` to `--upstream` + the same
/// path with the caller's content-type and authorization, and streams the upstream answer back as it
/// arrives. No authentication, no database, no JSON parsing, no logging per request.
@main
struct BareForwarderMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate-bare-forwarder",
        abstract: "Forward /v1/chat/completions to an upstream, nothing else (benchmark baseline).")

    @Option(help: "Upstream base URL, e.g. http://127.0.0.1:8000/v1 (the request path after /v1 is appended).")
    var upstream: String
    @Option(help: "Port to listen on, on 127.0.0.1 (0 picks a free one; the port is printed).")
    var port: Int = 0
    @Option(help: "Connections AsyncHTTPClient may open to the upstream (Keygate's KEYGATE_UPSTREAM_MAX_CONNECTIONS).")
    var maxConnections: Int = 256

    func run() async throws {
        var logger = Logger(label: "bare-forwarder")
        logger.logLevel = .warning

        // Configured like Keygate's UpstreamClients: shared event loops, raised pool, no decompression.
        var config = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: nil),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections),
            decompression: .disabled)
        config.httpVersion = .automatic
        let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: config)

        let base = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        let target = base + "/chat/completions"

        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 20 << 20)
            var outbound = HTTPClientRequest(url: target)
            outbound.method = .POST
            outbound.headers.add(name: "content-type", value: request.headers[.contentType] ?? "application/json")
            if let authorization = request.headers[.authorization] {
                outbound.headers.add(name: "authorization", value: authorization)
            }
            outbound.body = .bytes(body)
            let upstreamResponse = try await client.execute(outbound, timeout: .seconds(600))

            var headers = HTTPFields()
            if let type = upstreamResponse.headers.first(name: "content-type") { headers[.contentType] = type }
            // An event stream goes out without a length, as a provider's arrives (the benchmark's static upstream
            // sends one; passing it on would spare this baseline the chunked encoding every real stream has).
            let isEventStream = upstreamResponse.headers.first(name: "content-type")?.hasPrefix("text/event-stream") ?? false
            let length = isEventStream ? nil : upstreamResponse.headers.first(name: "content-length").flatMap { Int($0) }
            let upstreamBody = upstreamResponse.body
            // Each buffer is written as soon as it arrives: nothing is collected.
            return Response(
                status: .init(code: Int(upstreamResponse.status.code)),
                headers: headers,
                body: ResponseBody(contentLength: length) { writer in
                    for try await buffer in upstreamBody { try await writer.write(buffer) }
                    try await writer.finish(nil)
                })
        }

        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "bare-forwarder"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                FileHandle.standardOutput.write(Data("bare forwarder listening on port \(bound)\n".utf8))
            },
            logger: logger)
        do {
            try await app.runService()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
