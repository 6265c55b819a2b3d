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
/// silent for too long. Cancelling the task cancels the AsyncHTTPClient request, which closes the upstream
/// connection: a provider never keeps generating (and billing) for a client that has left.
///
/// The checks run as a repeated timer on the client connection's event loop (no thread of their own); when one
/// fails it ends a stream that a second child task waits on, and that child's error cancels the exchange.
/// A client that disconnects is noticed within one tick (at most 100 ms), not only at the next write.
struct UpstreamWatchdog: Sendable {
    let channel: any Channel
    let idleTimeout: Duration
    let activity = ActivityClock()

    var tick: Duration { min(.milliseconds(100), idleTimeout / 4) }

    func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        let (alarm, trigger) = AsyncStream<WatchdogStop>.makeStream()
        let check = channel.eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(tick), delay: TimeAmount(tick)) { [channel, idleTimeout, activity] task in
            if !channel.isActive {
                trigger.yield(.clientDisconnected)
            } else if let idle = activity.idleFor, idle > idleTimeout {
                trigger.yield(.idleTimeout)
            } else {
                return
            }
            task.cancel()
        }
        defer {
            check.cancel()
            trigger.finish()
        }
        return try await withoutActuallyEscaping(operation) { operation in
            let work = UnsafeTransfer(operation)
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await work.value() }
                group.addTask {
                    for await stop in alarm { throw stop }
                    throw CancellationError()  // the exchange ended first; this child is being cancelled
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        }
    }
}

/// Moves a value the compiler cannot prove Sendable into a child task. Used only where the parent waits for
/// the child before touching the value again, so the two never run at once.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
