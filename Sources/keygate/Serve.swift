import ArgumentParser
import Foundation
import Hummingbird
import KeygateServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (API on /v1, health on /healthz and /readyz).")

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 8080
    @Option(help: "A YAML config file (default: KEYGATE_CONFIG, if set). Environment variables win over it.") var config: String?

    func run() async throws {
        MemoryAllocator.keepFreedMemory()
        try await runReportingFailure {
            // Until the reloader traps it, a SIGHUP would end the process (its default action).
            signal(SIGHUP, SIG_IGN)
            var config = try await GatewayConfiguration.load(configFile: self.config)
            config.host = host
            config.port = port
            let logger = makeLogger(config)
            let gateway = try await Bootstrap.gateway(config, logger: logger)
            let app = GatewayServer.application(gateway: gateway, host: host, port: port, reloadsOnSIGHUP: true) { boundPort in
                logger.info("Keygate listening on http://\(host):\(boundPort)")
            }
            // SIGTERM/SIGINT stop the application's services gracefully, in the order `GatewayServer.application`
            // declares (no new connections, in-flight requests finish, then queued usage records are written);
            // what still runs after KEYGATE_SHUTDOWN_GRACE_SECONDS is cut with an error event and settled. Then
            // the gateway closes its upstream clients and the store, and the logs are flushed.
            let shutdown = GracefulShutdown(
                grace: .seconds(config.shutdownGraceSeconds), deadline: gateway.shutdownDeadline, logger: logger)
            do {
                try await shutdown.run(app)
            } catch {
                await gateway.shutdown()
                LogSink.flushAll()
                throw StartupError("server stopped: \(error)")
            }
            await gateway.shutdown()
            logger.info("Keygate stopped: in-flight requests settled, usage records written")
            LogSink.flushAll()
        }
    }
}
