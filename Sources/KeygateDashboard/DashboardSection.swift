/// The pages of an organisation, in the navigation's order; the raw value is the path after the slug.
enum DashboardSection: String, CaseIterable, Sendable {
    case billing
    case settings
    case lab

    var title: String {
        switch self {
        case .billing: "Billing"
        case .settings: "Settings"
        case .lab: "Lab"
        }
    }
}
