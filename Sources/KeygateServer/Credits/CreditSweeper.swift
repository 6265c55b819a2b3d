import KeygateCore
import KeygateStore
import Logging
import ServiceLifecycle

/// Keeps the ledger honest over time: marks this process alive, returns reservations (and job calls' holds, to
/// their jobs) whose process died (no heartbeat for `deadAfterMs`) or whose lease ended, completes jobs past
/// their `expires_at`, and expires trial credits. A `Service`: `serve` runs
/// it (once at start, then every `intervalMs`) until graceful shutdown; nothing else starts it, so a CLI
/// command never sweeps.
struct CreditSweeper: Service {
    let store: any LedgerMaintenanceStore
    let instanceID: String
    let intervalMs: Int64
    let deadAfterMs: Int64
    let logger: Logger

    /// `intervalMs` between sweeps (`KEYGATE_SWEEP_INTERVAL_SECONDS`, 10 s); a process silent for `deadAfterMs`
    /// (`KEYGATE_INSTANCE_DEAD_AFTER_SECONDS`, 60 s) is taken for dead and its reservations are returned.
    init(store: any LedgerMaintenanceStore, instanceID: String, intervalMs: Int64, deadAfterMs: Int64, logger: Logger) {
        self.store = store
        self.instanceID = instanceID
        self.intervalMs = intervalMs
        self.deadAfterMs = deadAfterMs
        self.logger = logger
    }

    /// Sweeps until graceful shutdown (or cancellation). Only the wait between sweeps is cut short: a sweep
    /// under way finishes its transactions.
    func run() async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sweep()
            let interval = Duration.milliseconds(intervalMs)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    func sweep() async {
        let now = WallClock.nowMs()
        do {
            try await store.heartbeat(instanceID: instanceID, at: now)
            let released = try await store.releaseAbandonedReservations(now: now, deadBefore: now - deadAfterMs)
            if released > 0 { logger.warning("Released abandoned reservations", metadata: ["count": "\(released)"]) }
            let jobCalls = try await store.releaseAbandonedJobCalls(now: now, deadBefore: now - deadAfterMs)
            if jobCalls > 0 { logger.warning("Returned abandoned job calls' holds", metadata: ["count": "\(jobCalls)"]) }
            let jobs = try await store.expireJobs(now: now)
            if jobs > 0 { logger.info("Completed expired jobs", metadata: ["count": "\(jobs)"]) }
            let expired = try await store.expireTrialCredits(now: now)
            if expired > 0 { logger.info("Expired trial credits", metadata: ["organisations": "\(expired)"]) }
        } catch {
            logger.error("Credit sweep failed", metadata: ["error": "\(error)"])
        }
    }
}
