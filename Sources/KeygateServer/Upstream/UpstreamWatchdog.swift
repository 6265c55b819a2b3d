import Foundation
import NIOCore
import Synchronization

/// Why the watchdog stopped an upstream call.
enum WatchdogStop: Error {
    /// The client's connection closed: nobody is waiting for the answer any more.
    case clientDisconnected
    /// The upstream sent nothing for longer than the idle timeout.
    case idleTimeout
    /// The process is stopping and its grace period is over (`ShutdownDeadline`).
    case shuttingDown
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
/// The exchange runs as one task of its own, which is what gets cancelled (a task cannot be cancelled from
/// outside through anything but its handle); the caller waits for it, so it never outlives `run`, and a
/// cancelled caller cancels it too. The checks are not a timer per exchange (scheduling and cancelling one
/// costs two cross-thread event-loop wake-ups per request) but one process-wide sweep every
/// `WatchdogSweep.tick` over the exchanges running (`WatchdogSweep`). A client that disconnects is noticed
/// within one tick, not only at the next write.
struct UpstreamWatchdog: Sendable {
    let channel: any Channel
    let idleTimeout: Duration
    /// Stops the exchange when a graceful stop's grace period is over.
    let shutdown: ShutdownDeadline
    let activity = ActivityClock()

    func run<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        try await withoutActuallyEscaping(operation) { operation in
            let work = UnsafeTransfer(operation)
            let exchange = Task { try await work.value() }
            let watched = WatchedExchange(
                channel: channel, idleTimeout: idleTimeout, activity: activity, shutdown: shutdown, cancel: { exchange.cancel() })
            let sweep = WatchdogSweep.shared
            sweep.add(watched)
            // Started after the cut (a request that was still being planned): stopped now, not a tick later.
            if shutdown.isCut { watched.check() }
            defer { sweep.remove(watched) }
            do {
                return try await withTaskCancellationHandler {
                    try await exchange.value
                } onCancel: {
                    exchange.cancel()
                }
            } catch {
                // Whatever the cancelled request threw, the reason is the watchdog's.
                if let reason = watched.stopReason { throw reason }
                throw error
            }
        }
    }
}

/// One exchange under watch: what the sweep looks at, and how it stops it (once).
final class WatchedExchange: Sendable {
    let channel: any Channel
    let idleTimeout: Duration
    let activity: ActivityClock
    let shutdown: ShutdownDeadline
    private let cancel: @Sendable () -> Void
    private let stopped = Mutex<WatchdogStop?>(nil)

    init(
        channel: any Channel, idleTimeout: Duration, activity: ActivityClock, shutdown: ShutdownDeadline,
        cancel: @escaping @Sendable () -> Void
    ) {
        self.channel = channel
        self.idleTimeout = idleTimeout
        self.activity = activity
        self.shutdown = shutdown
        self.cancel = cancel
    }

    var stopReason: WatchdogStop? { stopped.withLock { $0 } }

    /// Stops the exchange if its client left, its upstream went quiet or the shutdown grace is over.
    /// `Channel.isActive` is safe to read from any thread.
    func check() {
        let reason: WatchdogStop
        if shutdown.isCut {
            reason = .shuttingDown
        } else if !channel.isActive {
            reason = .clientDisconnected
        } else if let idle = activity.idleFor, idle > idleTimeout {
            reason = .idleTimeout
        } else {
            return
        }
        let first = stopped.withLock { current -> Bool in
            guard current == nil else { return false }
            current = reason
            return true
        }
        if first { cancel() }
    }
}

/// The process-wide check of every running upstream exchange, every `tick`, from a dispatch timer of its
/// own (started with the first exchange). Adding and removing an exchange is one uncontended lock, no
/// wake-up of anything.
final class WatchdogSweep: Sendable {
    static let tick = DispatchTimeInterval.milliseconds(100)
    static let shared = WatchdogSweep()

    private struct State {
        var exchanges: [ObjectIdentifier: WatchedExchange] = [:]
        var timer: DispatchSourceTimer?
    }
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "keygate.watchdog")

    func add(_ exchange: WatchedExchange) {
        state.withLock { state in
            state.exchanges[ObjectIdentifier(exchange)] = exchange
            if state.timer == nil { state.timer = startTimer() }
        }
    }

    func remove(_ exchange: WatchedExchange) {
        _ = state.withLock { $0.exchanges.removeValue(forKey: ObjectIdentifier(exchange)) }
    }

    private func startTimer() -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + Self.tick, repeating: Self.tick, leeway: .milliseconds(10))
        timer.setEventHandler { [weak self] in self?.sweep() }
        timer.resume()
        return timer
    }

    /// Checks every running exchange now, off the caller's thread (a shutdown cut wants no wait for the tick).
    func sweepNow() {
        queue.async { [self] in sweep() }
    }

    /// Checks outside the lock: stopping an exchange cancels its task, which may run code that removes it.
    private func sweep() {
        let running = state.withLock { Array($0.exchanges.values) }
        for exchange in running { exchange.check() }
    }
}
