import CoreMetrics
import Synchronization

/// What can be seen of one provider's connection pool from outside AsyncHTTPClient, whose async API reports no
/// wait for a connection: the calls in flight, and the calls that started while `limit` were already in flight
/// (over HTTP/1.1 the pool holds at most that many connections, so such a call waits for one to come free).
final class UpstreamPoolMetrics: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let gauge: Meter
    private let waits: Counter

    init(provider: String, factory: any MetricsFactory) {
        gauge = Meter(label: "keygate_upstream_in_flight", dimensions: [("provider", provider)], factory: factory)
        waits = Counter(label: "keygate_upstream_pool_waits_total", dimensions: [("provider", provider)], factory: factory)
    }

    func started(limit: Int) {
        let before = inFlight.add(1, ordering: .relaxed).oldValue
        gauge.increment()
        if before >= limit { waits.increment() }
    }

    func finished() {
        inFlight.subtract(1, ordering: .relaxed)
        gauge.decrement()
    }
}
