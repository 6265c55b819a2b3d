/// The services behind the dashboard's forms, the same ones the JSON API and the CLI use. A nil one leaves its
/// sections out of the pages (a gateway built without it, e.g. in a test).
public struct DashboardServices: Sendable {
    public var billing: (any BillingActions)?
    public var keys: (any BYOKKeyActions)?
    public var settings: (any SettingsActions)?
    /// The models the lab offers, in the catalog's order.
    public var labModels: [LabModel]

    public init(
        billing: (any BillingActions)? = nil, keys: (any BYOKKeyActions)? = nil, settings: (any SettingsActions)? = nil,
        labModels: [LabModel] = []
    ) {
        self.billing = billing
        self.keys = keys
        self.settings = settings
        self.labModels = labModels
    }
}
