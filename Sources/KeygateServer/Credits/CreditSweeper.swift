import KeygateCore
import KeygateStore
import Logging

/// Keeps the ledger honest over time: marks this process alive, returns reservations whose process died
/// (no heartbeat for `deadAfterMs`) or whose lease ended, and expires trial credits. Runs once at start and
/// then every `intervalMs`.
final class CreditSweeper: Sendable {
    private let task: Task<Void, Never>

    /// `intervalMs` between sweeps (`KEYGATE_SWEEP_INTERVAL_SECONDS`, 10 s); a process silent for `deadAfterMs`
    /// (`KEYGATE_INSTANCE_DEAD_AFTER_SECONDS`, 60 s) is taken for dead and its reservations are returned.
    init(store: any LedgerMaintenanceStore, instanceID: String, intervalMs: Int64, deadAfterMs: Int64, logger: Logger) {
        task = Task {
            while !Task.isCancelled {
                let now = WallClock.nowMs()
                do {
                    try await store.heartbeat(instanceID: instanceID, at: now)
                    let released = try await store.releaseAbandonedReservations(now: now, deadBefore: now - deadAfterMs)
                    if released > 0 { logger.warning("Released abandoned reservations", metadata: ["count": "\(released)"]) }
                    let expired = try await store.expireTrialCredits(now: now)
                    if expired > 0 { logger.info("Expired trial credits", metadata: ["organisations": "\(expired)"]) }
                } catch {
                    logger.error("Credit sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .milliseconds(intervalMs))
            }
        }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}
