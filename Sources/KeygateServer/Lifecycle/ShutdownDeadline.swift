import Synchronization

/// The moment a graceful stop gives up waiting: once `cut()` is called, every upstream exchange of this
/// gateway still running (and any that starts later) is stopped with `WatchdogStop.shuttingDown`. A stream
/// then ends with an error event in its own format and is settled for what it produced; a call still waiting
/// for its answer gets a 503 and its reservation back. One per `Gateway`, so tests in one process do not
/// cut each other.
public final class ShutdownDeadline: Sendable {
    private let passed = Atomic<Bool>(false)

    public init() {}

    /// Whether the grace period is over.
    public var isCut: Bool { passed.load(ordering: .acquiring) }

    /// Ends the grace period now: the exchanges running are stopped at once (not at the watchdog's next tick).
    public func cut() {
        passed.store(true, ordering: .releasing)
        WatchdogSweep.shared.sweepNow()
    }
}
