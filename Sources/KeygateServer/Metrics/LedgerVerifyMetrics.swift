import Foundation
import Prometheus

/// `keygate ledger verify --metrics-file F`: the result as a Prometheus text file for node_exporter's textfile
/// collector (a cron job runs the check; Prometheus alerts on the gauge, or on its age when the check stops running).
/// A registry of its own, written by swift-prometheus; the file is replaced atomically, so a scrape never reads half.
public enum LedgerVerifyMetrics {
    public static func write(discrepancies: Int, to path: String, now: Date = Date()) throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeGauge(
            name: "keygate_ledger_verify_discrepancies", help: "Balances that do not equal the sum of their ledger entries (last check)"
        ).set(to: Double(discrepancies))
        registry.makeGauge(
            name: "keygate_ledger_verify_last_run_timestamp_seconds", help: "When keygate ledger verify last completed (Unix time)"
        ).set(to: now.timeIntervalSince1970.rounded())
        let data = Data(registry.emitToBuffer())
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
