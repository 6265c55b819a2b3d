import AsyncHTTPClient
import KeygateCore
import NIOCore
import NIOPosix
import Synchronization

/// One AsyncHTTPClient per provider, made on first use, so each provider gets its own connect timeout and
/// connection pool while all share the process's event loops.
///
/// Redirects are refused: following one would send a provider key to whatever host the redirect names.
public final class UpstreamClients: Sendable {
    private let clients = Mutex<[String: HTTPClient]>([:])
    private let configuration: GatewayConfiguration

    init(configuration: GatewayConfiguration) {
        self.configuration = configuration
    }

    func client(for providerID: String) -> HTTPClient {
        clients.withLock { clients in
            if let client = clients[providerID] { return client }
            let timeouts = configuration.timeouts(for: providerID)
            var config = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: TimeAmount(timeouts.connect), read: nil),
                connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.maxConnectionsPerHost),
                decompression: .disabled)
            config.httpVersion = .automatic
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: config)
            clients[providerID] = client
            return client
        }
    }

    func shutdown() async {
        let all = clients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }
}
