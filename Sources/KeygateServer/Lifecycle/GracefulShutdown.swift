import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// How `keygate serve` stops (SPEC §10): on SIGTERM or SIGINT the service (the HTTP application with the
/// gateway's background services) shuts down gracefully: no new connections, requests and streams in flight
/// finish, then usage records are written (see `GatewayServer.application` for the order). Whatever still
/// runs when `grace` is over is cut through `deadline` (an error event, settled for what it produced), so
/// the stop takes at most about `grace`. A second signal cuts at once.
///
/// Why not `ServiceGroup`'s own `maximumGracefulShutdownDuration`: at that deadline it cancels the tasks,
/// and a cancelled stream neither tells its client why it ended nor is settled through the normal path.
/// Cancellation stays only as a backstop, `backstop` after the cut, for work that ignores the cut.
public struct GracefulShutdown: Sendable {
    public let grace: Duration
    public let deadline: ShutdownDeadline
    public let logger: Logger
    /// How long after the cut the service is cancelled if it still has not returned.
    public var backstop: Duration = .seconds(10)

    public init(grace: Duration, deadline: ShutdownDeadline, logger: Logger) {
        self.grace = grace
        self.deadline = deadline
        self.logger = logger
    }

    /// Runs `service` until it returns: after a signal and a graceful stop, or on its own.
    public func run(_ service: some Service) async throws {
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let running = Task { try await group.run() }
        let watcher = Task { await watchSignals(group: group, running: running) }
        defer { watcher.cancel() }
        try await withTaskCancellationHandler {
            try await running.value
        } onCancel: {
            running.cancel()
        }
    }

    private func watchSignals(group: ServiceGroup, running: Task<Void, any Error>) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        await withDiscardingTaskGroup { timers in
            var stopping = false
            for await signal in signals {
                guard !stopping else {
                    logger.notice("Second \(signal): cutting what is still running now")
                    cutThenBackstop(running: running)
                    continue
                }
                stopping = true
                logger.notice(
                    "\(signal): stopping. No new connections; requests in flight have \(grace) to finish",
                    metadata: ["grace_seconds": "\(grace.components.seconds)"])
                await group.triggerGracefulShutdown()
                timers.addTask {
                    do { try await Task.sleep(for: grace) } catch { return }
                    logger.notice("Shutdown grace over: cutting the requests still in flight")
                    cutThenBackstop(running: running)
                }
            }
            timers.cancelAll()
        }
    }

    private func cutThenBackstop(running: Task<Void, any Error>) {
        deadline.cut()
        let logger = logger
        let backstop = backstop
        Task {
            try? await Task.sleep(for: backstop)
            guard !Task.isCancelled else { return }
            logger.error("Still running \(backstop) after the cut: cancelling the server")
            running.cancel()
        }
    }
}
