import CoreMetrics

/// What a store's group commit reports for each batch it writes: how long the transaction took
/// (`keygate_ledger_commit_seconds`) and how many writes it held (`keygate_ledger_commit_group_size`), labelled
/// with the backend. Made once per store; a batch costs two clock reads and two histogram updates, whatever its size.
public struct LedgerCommitMetrics: Sendable {
    private let latency: CoreMetrics.Timer
    private let groupSize: Recorder

    /// `factory` is the serving gateway's (its `/metrics`); nil: the process-wide `MetricsSystem` (a no-op unless
    /// something bootstrapped it, as in the CLI).
    public init(backend: String, factory: (any MetricsFactory)?) {
        let factory = factory ?? MetricsSystem.factory
        latency = CoreMetrics.Timer(label: "keygate_ledger_commit_seconds", dimensions: [("backend", backend)], factory: factory)
        groupSize = Recorder(label: "keygate_ledger_commit_group_size", dimensions: [("backend", backend)], factory: factory)
    }

    /// One batch of `size` writes committed (or failed) after starting at `start`.
    public func committed(size: Int, since start: ContinuousClock.Instant) {
        let (seconds, attoseconds) = (ContinuousClock.now - start).components
        latency.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        groupSize.record(size)
    }
}
