import CoreMetrics
import KeygateCore
import KeygateStore
import Prometheus
import Synchronization

/// The gateway's metrics (SPEC §10, `/metrics`): swift-metrics objects backed by a Prometheus registry of this
/// gateway's own, so several gateways in one process (the tests) never share counters and nothing needs the
/// process-wide `MetricsSystem`. Every label value is a fixed word, a catalog provider id or a route pattern;
/// organisation slugs and models appear only with `KEYGATE_METRICS_ORG_LABELS=true`; never a key or a secret.
///
/// Cost on a request: each family is a lock and a dictionary lookup (the label objects are made once), then
/// atomic adds in the registry.
public final class GatewayMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Makes swift-metrics objects that land in `registry` (also handed to the store for the ledger's commits).
    public let factory: PrometheusMetricsFactory
    public let settings: MetricsSettings

    struct CallKey: Hashable, Sendable {
        let route: String
        let billing: String
        let provider: String
        let status: String
        let organization: String
        let model: String
    }

    struct SpendKey: Hashable, Sendable {
        let billing: String
        let provider: String
        let organization: String
        let model: String
    }

    /// What one billing path and provider (and organisation and model, when on) consumed and paid.
    struct Spend: Sendable {
        let inputTokens: CoreMetrics.Counter
        let outputTokens: CoreMetrics.Counter
        let credits: CoreMetrics.Counter
        let fees: CoreMetrics.Counter
    }

    struct PairKey: Hashable, Sendable {
        let first: String
        let second: String
    }

    private let calls: MetricFamily<CallKey, CoreMetrics.Counter>
    private let spend: MetricFamily<SpendKey, Spend>
    private let http: MetricFamily<PairKey, CoreMetrics.Counter>
    private let overhead: MetricFamily<String, CoreMetrics.Timer>
    private let upstreamTime: MetricFamily<String, CoreMetrics.Timer>
    private let firstToken: MetricFamily<String, CoreMetrics.Timer>
    private let paymentReasons: MetricFamily<String, CoreMetrics.Counter>
    private let byokValidations: MetricFamily<PairKey, CoreMetrics.Counter>
    private let byokRejections: MetricFamily<PairKey, CoreMetrics.Counter>
    private let topUps: MetricFamily<String, CoreMetrics.Counter>
    private let configReloads: MetricFamily<String, CoreMetrics.Counter>
    private let pools: MetricFamily<String, UpstreamPoolMetrics>
    /// Reservations of plain credit calls this process holds until their settlement.
    let reservationsOpen: Meter
    /// Holds of job calls (`x-keygate-job`) this process holds until their settlement.
    let jobHoldsOpen: Meter
    /// The calls a provider's pool lets run at once on HTTP/1.1 (`KEYGATE_UPSTREAM_MAX_CONNECTIONS`).
    let poolLimit: Int

    public init(
        settings: MetricsSettings = MetricsSettings(), poolLimit: Int = 8, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.settings = settings
        self.registry = registry
        self.poolLimit = poolLimit
        var configured = PrometheusMetricsFactory(registry: registry)
        configured.durationHistogramBuckets = [
            "keygate_gateway_overhead_seconds": [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1].map(Self.seconds),
            "keygate_upstream_seconds": [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300].map(Self.seconds),
            "keygate_time_to_first_token_seconds": [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map(Self.seconds),
            "keygate_ledger_commit_seconds": [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
                .map(Self.seconds),
        ]
        configured.valueHistogramBuckets = ["keygate_ledger_commit_group_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]]
        let factory = configured
        self.factory = factory
        let withOrg = settings.organizationLabels
        calls = MetricFamily { key in
            var labels = [
                ("route", key.route), ("billing", key.billing), ("provider", key.provider), ("status_class", key.status),
            ]
            if withOrg { labels += [("org", key.organization), ("model", key.model)] }
            return CoreMetrics.Counter(label: "keygate_requests_total", dimensions: labels, factory: factory)
        }
        spend = MetricFamily { key in
            var labels = [("billing", key.billing), ("provider", key.provider)]
            if withOrg { labels += [("org", key.organization), ("model", key.model)] }
            return Spend(
                inputTokens: CoreMetrics.Counter(label: "keygate_tokens_total", dimensions: labels + [("direction", "input")], factory: factory),
                outputTokens: CoreMetrics.Counter(label: "keygate_tokens_total", dimensions: labels + [("direction", "output")], factory: factory),
                credits: CoreMetrics.Counter(label: "keygate_credits_charged_microcredits_total", dimensions: labels, factory: factory),
                fees: CoreMetrics.Counter(label: "keygate_fees_microcredits_total", dimensions: labels, factory: factory))
        }
        http = MetricFamily { key in
            CoreMetrics.Counter(
                label: "keygate_http_requests_total", dimensions: [("route", key.first), ("status_class", key.second)], factory: factory)
        }
        overhead = MetricFamily { CoreMetrics.Timer(label: "keygate_gateway_overhead_seconds", dimensions: [("route", $0)], factory: factory) }
        upstreamTime = MetricFamily { CoreMetrics.Timer(label: "keygate_upstream_seconds", dimensions: [("provider", $0)], factory: factory) }
        firstToken = MetricFamily {
            CoreMetrics.Timer(label: "keygate_time_to_first_token_seconds", dimensions: [("provider", $0)], factory: factory)
        }
        paymentReasons = MetricFamily { CoreMetrics.Counter(label: "keygate_payment_required_total", dimensions: [("reason", $0)], factory: factory) }
        byokValidations = MetricFamily { key in
            CoreMetrics.Counter(
                label: "keygate_byok_validations_total", dimensions: [("provider", key.first), ("result", key.second)], factory: factory)
        }
        byokRejections = MetricFamily { key in
            CoreMetrics.Counter(
                label: "keygate_byok_rejections_total", dimensions: [("provider", key.first), ("during", key.second)], factory: factory)
        }
        topUps = MetricFamily { CoreMetrics.Counter(label: "keygate_topups_total", dimensions: [("outcome", $0)], factory: factory) }
        pools = MetricFamily { UpstreamPoolMetrics(provider: $0, factory: factory) }
        configReloads = MetricFamily { CoreMetrics.Counter(label: "keygate_config_reloads_total", dimensions: [("outcome", $0)], factory: factory) }
        reservationsOpen = Meter(label: "keygate_reservations_open", dimensions: [], factory: factory)
        jobHoldsOpen = Meter(label: "keygate_job_holds_open", dimensions: [], factory: factory)
        // Present from the start (at zero), so rates and alerts have a series before the first event.
        for reason in ["insufficient_credits", "job_exhausted"] { _ = paymentReasons[reason] }
        for outcome in ["succeeded", "failed", "unknown"] { _ = topUps[outcome] }
        for outcome in ["applied", "failed"] { _ = configReloads[outcome] }
    }

    /// The text `/metrics` serves.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    // MARK: Recording

    /// Every HTTP request, by its route pattern (`/api/orgs/{slug}/balance`, never the slug) and status class.
    func httpRequest(route: String, status: Int) {
        http[PairKey(first: route, second: StatusClass.of(status))].increment()
    }

    /// A 402, by its error code (`insufficient_credits`, `job_exhausted`).
    func paymentRequired(reason: String) {
        paymentReasons[reason].increment()
    }

    /// One proxied call's ending (its usage record): the call, its tokens and money, and where the time went.
    /// `upstream` is the provider's time (nil when no provider was called: then all of it is the gateway's).
    func callFinished(route: String, record: UsageRecord, organizationSlug: String, total: Duration, upstream: Duration?) {
        let billing = record.billing?.rawValue ?? "none"
        let provider = record.provider.isEmpty ? "none" : record.provider
        let organization = settings.organizationLabels ? organizationSlug : ""
        let model = settings.organizationLabels ? record.model : ""
        calls[
            CallKey(
                route: route, billing: billing, provider: provider, status: StatusClass.of(record.status), organization: organization,
                model: model)
        ].increment()
        if record.inputTokens > 0 || record.outputTokens > 0 || record.creditsCharged.value > 0 || record.feeCredits.value > 0 {
            let spent = spend[SpendKey(billing: billing, provider: provider, organization: organization, model: model)]
            if record.inputTokens > 0 { spent.inputTokens.increment(by: record.inputTokens) }
            if record.outputTokens > 0 { spent.outputTokens.increment(by: record.outputTokens) }
            if record.creditsCharged.value > 0 { spent.credits.increment(by: record.creditsCharged.value) }
            if record.feeCredits.value > 0 { spent.fees.increment(by: record.feeCredits.value) }
        }
        if let upstream {
            upstreamTime[provider].recordNanoseconds(Self.nanoseconds(upstream))
            overhead[route].recordNanoseconds(max(0, Self.nanoseconds(total - upstream)))
        } else {
            overhead[route].recordNanoseconds(Self.nanoseconds(total))
        }
        if let ttft = record.timeToFirstTokenMs {
            firstToken[provider].recordNanoseconds(ttft * 1_000_000)
        }
    }

    /// A BYOK key checked with its provider: `valid`, `rejected`, `unavailable` or `shape_only`.
    func byokValidation(provider: String, result: String) {
        byokValidations[PairKey(first: provider, second: result)].increment()
        if result == "rejected" { byokRejections[PairKey(first: provider, second: "validation")].increment() }
    }

    /// A stored BYOK key the provider refused during a request (then marked invalid).
    func byokRejectedDuringRequest(provider: String) {
        byokRejections[PairKey(first: provider, second: "request")].increment()
    }

    /// An automatic top-up's charge: `succeeded`, `failed` or `unknown` (asked about again later).
    func topUp(outcome: String) {
        topUps[outcome].increment()
    }

    /// A SIGHUP's reload: `applied`, or `failed` (the running configuration kept).
    func configReload(outcome: String) {
        configReloads[outcome].increment()
    }

    /// A call going out to `provider`; `upstreamFinished` must follow once its response (or stream) is done.
    func upstreamStarted(provider: String) {
        pools[provider].started(limit: poolLimit)
    }

    func upstreamFinished(provider: String) {
        pools[provider].finished()
    }

    static func seconds(_ value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension GatewayMetrics {
    /// The metrics a gateway with this configuration serves (`KEYGATE_METRICS_*` read from its environment).
    public convenience init(configuration: GatewayConfiguration) {
        self.init(settings: MetricsSettings(environment: configuration.environment), poolLimit: configuration.maxConnectionsPerHost)
    }
}
