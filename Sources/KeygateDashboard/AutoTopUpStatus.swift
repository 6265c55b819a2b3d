import KeygateStore

/// An organisation's auto top-up as the billing page shows it: its settings and state, and what top-ups cost
/// this calendar month (UTC, minor units of the packs' currency).
public struct AutoTopUpStatus: Sendable {
    public var account: BillingAccount
    public var spentThisMonth: Int64

    public init(account: BillingAccount, spentThisMonth: Int64) {
        self.account = account
        self.spentThisMonth = spentThisMonth
    }
}
