/// Values of `x-keygate-billing` besides a `BillingPath`.
enum BillingHeader {
    /// The request never reached a provider (rejected before routing): nobody was billed.
    static let none = "none"
}
