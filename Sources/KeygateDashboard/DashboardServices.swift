/// The services behind the dashboard's forms, the same ones the JSON API and the CLI use. A nil one leaves its
/// sections out of the pages (a gateway built without it, e.g. in a test).
public struct DashboardServices: Sendable {
    public var billing: (any BillingActions)?
    public var keys: (any BYOKKeyActions)?
    public var settings: (any SettingsActions)?
    /// The models the lab offers, in the catalog's order: asked for each page, since a SIGHUP may change the catalog.
    public var labModels: [LabModel] { labModelSource() }
    let labModelSource: @Sendable () -> [LabModel]

    public init(
        billing: (any BillingActions)? = nil, keys: (any BYOKKeyActions)? = nil, settings: (any SettingsActions)? = nil,
        labModels: @escaping @Sendable () -> [LabModel] = { [] }
    ) {
        self.billing = billing
        self.keys = keys
        self.settings = settings
        self.labModelSource = labModels
    }
}
