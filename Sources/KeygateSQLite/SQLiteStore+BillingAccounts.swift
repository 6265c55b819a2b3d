import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// An organisation's Stripe customer, top-up card and auto top-up, on SQLite. The claim of a top-up runs in one
/// `BEGIN IMMEDIATE` transaction, so its checks and the pending purchase it writes cannot interleave with another
/// claim, in this process or another; the unique index on pending top-ups holds the rule even if they could.
extension SQLiteStore {
    public func billingAccount(organizationID: String) async throws -> BillingAccount {
        try await pool.read { db in try Self.billingAccount(db, organizationID: organizationID) }
    }

    public func setStripeCustomerID(_ customerID: String, organizationID: String) async throws -> String {
        try await writes.write { db in
            let now = WallClock.nowMs()
            try Self.ensureBillingAccount(db, organizationID: organizationID, now: now)
            // The first writer wins: two concurrent checkouts end with one customer.
            try db.execute(
                sql: "UPDATE billing_accounts SET stripe_customer_id = ?, updated_at = ? WHERE organization_id = ? AND stripe_customer_id IS NULL",
                arguments: [customerID, now, organizationID])
            return try String.fetchOne(
                db, sql: "SELECT stripe_customer_id FROM billing_accounts WHERE organization_id = ?", arguments: [organizationID]) ?? customerID
        }
    }

    public func attachTopUpCard(customerID: String, paymentMethodID: String, organizationID: String) async throws -> BillingAccount {
        try await writes.write { db in
            let now = WallClock.nowMs()
            try Self.ensureBillingAccount(db, organizationID: organizationID, now: now)
            try db.execute(
                sql: """
                    UPDATE billing_accounts SET stripe_customer_id = ?, payment_method_id = ?, payment_method_created_at = ?, updated_at = ?
                    WHERE organization_id = ?
                    """,
                arguments: [customerID, paymentMethodID, now, now, organizationID])
            // A new card: a declined one's failure no longer holds (a dispute's pause does).
            try db.execute(
                sql:
                    "UPDATE billing_accounts SET state = 'idle', last_error = NULL, last_error_at = NULL WHERE organization_id = ? AND state = 'failing'",
                arguments: [organizationID])
            return try Self.billingAccount(db, organizationID: organizationID)
        }
    }

    public func setAutoTopUp(_ settings: AutoTopUpSettings, organizationID: String) async throws -> BillingAccount {
        guard settings.threshold.value >= 0, settings.monthlyLimit >= 0 else {
            throw StoreError.invalid("the threshold and the monthly limit cannot be negative")
        }
        return try await writes.write { db in
            let now = WallClock.nowMs()
            try Self.ensureBillingAccount(db, organizationID: organizationID, now: now)
            try db.execute(
                sql: """
                    UPDATE billing_accounts SET auto_topup_enabled = ?, threshold_micros = ?, pack_id = ?, monthly_limit = ?, updated_at = ?
                    WHERE organization_id = ?
                    """,
                arguments: [settings.enabled, settings.threshold.value, settings.packID, settings.monthlyLimit, now, organizationID])
            if settings.enabled {
                // The admin's explicit act: the only way out of `paused` (and, besides a new card, of `failing`).
                try db.execute(
                    sql: "UPDATE billing_accounts SET state = 'idle', last_error = NULL, last_error_at = NULL WHERE organization_id = ?",
                    arguments: [organizationID])
            }
            return try Self.billingAccount(db, organizationID: organizationID)
        }
    }

    public func claimTopUp(_ purchase: PurchaseRecord, monthStart: Int64) async throws -> TopUpClaim {
        try await writes.write { db in
            let now = WallClock.nowMs()
            let org = purchase.organizationID
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM billing_accounts WHERE organization_id = ?", arguments: [org]) else {
                return .notNeeded("auto top-up is off")
            }
            let account = Self.billingAccount(from: row)
            guard account.autoTopUp.enabled else { return .notNeeded("auto top-up is off") }
            guard try !Self.hasPendingTopUp(db, organizationID: org) else { return .notNeeded("a top-up is already in flight") }
            var state = account.state
            // Last month's limit does not hold this month.
            if state == .monthlyLimitReached, (account.lastErrorAt ?? Int64.min) < monthStart { state = .idle }
            guard state == .idle else { return .notNeeded("auto top-up is \(state.rawValue)") }
            guard let customerID = account.stripeCustomerID, let paymentMethodID = account.paymentMethodID else {
                return .notNeeded("no card saved")
            }
            let available = try Self.balance(db, organizationID: org).available
            guard available < account.autoTopUp.threshold else { return .notNeeded("available is not below the threshold") }
            let spent = try Self.topUpSpend(db, organizationID: org, since: monthStart)
            var record = purchase
            record.kind = .topup
            guard spent + purchase.amount <= account.autoTopUp.monthlyLimit else {
                // Recorded once a month: the state now blocks the next claims until next month or an admin's change.
                let reason = "monthly_limit_reached"
                record.status = .refused
                record.failureReason = reason
                record.completedAt = now
                try Self.insertPurchase(db, record)
                try db.execute(
                    sql: """
                        UPDATE billing_accounts SET state = 'monthly_limit_reached', last_error = ?, last_error_at = ?, updated_at = ?
                        WHERE organization_id = ?
                        """,
                    arguments: [reason, now, now, org])
                return .refused(reason)
            }
            record.status = .pending
            try Self.insertPurchase(db, record)
            if account.state == .monthlyLimitReached {
                // Last month's limit, now lifted: the account reads idle again once this top-up is answered.
                try db.execute(
                    sql: """
                        UPDATE billing_accounts SET state = 'idle', last_error = NULL, last_error_at = NULL, updated_at = ?
                        WHERE organization_id = ?
                        """,
                    arguments: [now, org])
            }
            return .claimed(record, customerID: customerID, paymentMethodID: paymentMethodID)
        }
    }

    public func topUpSpend(organizationID: String, since: Int64) async throws -> Int64 {
        try await pool.read { db in try Self.topUpSpend(db, organizationID: organizationID, since: since) }
    }

    /// What counts against the monthly limit: succeeded and pending top-ups (a pending one may be charged).
    static func topUpSpend(_ db: Database, organizationID: String, since: Int64) throws -> Int64 {
        try Int64.fetchOne(
            db,
            sql: """
                SELECT coalesce(sum(amount), 0) FROM purchases
                WHERE organization_id = ? AND kind = 'topup' AND status IN ('succeeded', 'pending') AND created_at >= ?
                """, arguments: [organizationID, since]) ?? 0
    }

    public func pendingTopUps(claimedBefore: Int64) async throws -> [PurchaseRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM purchases WHERE kind = 'topup' AND status = 'pending' AND created_at < ? ORDER BY created_at, id",
                arguments: [claimedBefore]
            ).map(Self.purchase(from:))
        }
    }

    // MARK: - Rows

    /// Makes the organisation's billing row (auto top-up off, idle), for the first change that needs one.
    static func ensureBillingAccount(_ db: Database, organizationID: String, now: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO billing_accounts (organization_id, updated_at) VALUES (?, ?)")
            .execute(arguments: [organizationID, now])
    }

    static func hasPendingTopUp(_ db: Database, organizationID: String) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM purchases WHERE organization_id = ? AND kind = 'topup' AND status = 'pending')",
            arguments: [organizationID]) ?? false
    }

    /// The account as stored, `inFlight` whenever a top-up is pending (the stored state is never `in_flight`).
    static func billingAccount(_ db: Database, organizationID: String) throws -> BillingAccount {
        var account =
            try Row.fetchOne(db, sql: "SELECT * FROM billing_accounts WHERE organization_id = ?", arguments: [organizationID])
            .map(billingAccount(from:)) ?? BillingAccount(organizationID: organizationID)
        if try hasPendingTopUp(db, organizationID: organizationID) { account.state = .inFlight }
        return account
    }

    static func billingAccount(from row: Row) -> BillingAccount {
        BillingAccount(
            organizationID: row["organization_id"], stripeCustomerID: row["stripe_customer_id"], paymentMethodID: row["payment_method_id"],
            autoTopUp: AutoTopUpSettings(
                enabled: row["auto_topup_enabled"], threshold: MicroCredits(row["threshold_micros"]), packID: row["pack_id"],
                monthlyLimit: row["monthly_limit"]),
            state: AutoTopUpState(rawValue: row["state"]) ?? .idle, lastError: row["last_error"], lastErrorAt: row["last_error_at"])
    }
}
