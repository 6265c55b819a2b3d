import CoreMetrics
import Synchronization

/// The swift-metrics objects of one metric name, one per label set, made on first use and then reused: a request
/// costs one lock and one dictionary lookup per family, never a registry lookup or a new label array.
final class MetricFamily<Key: Hashable & Sendable, Metric: Sendable>: Sendable {
    private let made = Mutex<[Key: Metric]>([:])
    private let make: @Sendable (Key) -> Metric

    init(make: @escaping @Sendable (Key) -> Metric) {
        self.make = make
    }

    subscript(_ key: Key) -> Metric {
        made.withLock { made in
            if let metric = made[key] { return metric }
            let metric = make(key)
            made[key] = metric
            return metric
        }
    }
}
