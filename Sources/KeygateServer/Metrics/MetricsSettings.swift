/// The operator's choices for `/metrics`, read from the environment (SPEC §11).
public struct MetricsSettings: Sendable, Equatable {
    /// `KEYGATE_METRICS_TOKEN`: when set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise).
    public var token: String?
    /// `KEYGATE_METRICS_ORG_LABELS=true`: adds the organisation's slug and the model to the per-call series.
    /// Off by default: one series per organisation and model is the operator's call (cardinality).
    public var organizationLabels: Bool

    public init(token: String? = nil, organizationLabels: Bool = false) {
        self.token = token
        self.organizationLabels = organizationLabels
    }

    public init(environment: [String: String]) {
        let token = environment["KEYGATE_METRICS_TOKEN"] ?? ""
        self.token = token.isEmpty ? nil : token
        self.organizationLabels = ["1", "true", "yes"].contains((environment["KEYGATE_METRICS_ORG_LABELS"] ?? "").lowercased())
    }
}
