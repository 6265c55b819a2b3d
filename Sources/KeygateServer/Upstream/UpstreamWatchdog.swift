import NIOCore
import Synchronization

/// Why the watchdog stopped an upstream call.
enum WatchdogStop: Error {
    /// The client's connection closed: nobody is waiting for the answer any more.
    case clientDisconnected
    /// The upstream sent nothing for longer than the idle timeout.
    case idleTimeout
}

/// When a response last made progress. Armed by the first `touch()`; before that the first-byte deadline
/// applies instead.
final class ActivityClock: Sendable {
    private let lastProgressNanos = Atomic<Int64>(0)

    func touch() {
        lastProgressNanos.store(Int64(NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
    }

    /// Time since the last progress, or nil before the first.
    var idleFor: Duration? {
        let last = lastProgressNanos.load(ordering: .relaxed)
        guard last != 0 else { return nil }
        return .nanoseconds(Int64(NIODeadline.now().uptimeNanoseconds) - last)
    }
}

/// Runs one upstream exchange and cancels it as soon as the client's connection closes or the upstream goes
/// silent for too long. Cancelling the exchange cancels the AsyncHTTPClient request, which closes the upstream
/// connection: a provider never keeps generating (and billing) for a client that has left.
///
/// The checks run as a repeated timer on the client connection's event loop (no thread of their own). The
/// exchange runs as one task of its own, which is what the timer cancels (a task cannot be cancelled from
/// outside through anything but its handle); the caller waits for it, so it never outlives `run`, and a
/// cancelled caller cancels it too. A client that disconnects is noticed within one tick (at most 100 ms),
/// not only at the next write.
struct UpstreamWatchdog: Sendable {
    let channel: any Channel
    let idleTimeout: Duration
    let activity = ActivityClock()

    var tick: Duration { min(.milliseconds(100), idleTimeout / 4) }

    func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        try await withoutActuallyEscaping(operation) { operation in
            let work = UnsafeTransfer(operation)
            let exchange = Task { try await work.value() }
            let stopped = StopReason()
            let check = channel.eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(tick), delay: TimeAmount(tick)) { [channel, idleTimeout, activity] task in
                if !channel.isActive {
                    stopped.set(.clientDisconnected)
                } else if let idle = activity.idleFor, idle > idleTimeout {
                    stopped.set(.idleTimeout)
                } else {
                    return
                }
                exchange.cancel()
                task.cancel()
            }
            defer { check.cancel() }
            do {
                return try await withTaskCancellationHandler {
                    try await exchange.value
                } onCancel: {
                    exchange.cancel()
                }
            } catch {
                // Whatever the cancelled request threw, the reason is the watchdog's.
                if let reason = stopped.value { throw reason }
                throw error
            }
        }
    }
}

/// Why the watchdog stopped the exchange, set once by its timer.
private final class StopReason: Sendable {
    private let state = Mutex<WatchdogStop?>(nil)
    func set(_ reason: WatchdogStop) { state.withLock { $0 = $0 ?? reason } }
    var value: WatchdogStop? { state.withLock { $0 } }
}

/// Moves a value the compiler cannot prove Sendable into a child task. Used only where the parent waits for
/// the child before touching the value again, so the two never run at once.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
