import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// An organisation's Stripe customer, top-up card and auto top-up, on PostgreSQL.
///
/// - `claimTopUp` is one transaction that first locks the organisation's billing row (`SELECT … FOR UPDATE`):
///   claims from any replica run one after the other, and each re-reads (READ COMMITTED) the pending top-up the
///   previous one committed. The pending purchase is written with `ON CONFLICT … DO NOTHING` on the partial unique
///   index `purchases_one_pending_topup`, so a pending top-up written outside a claim makes the claim `.notNeeded`
///   instead of an error that would abort the transaction.
/// - `setStripeCustomerID` is one upsert whose `coalesce` keeps the stored customer: the first writer wins, and a
///   concurrent second one waits for its commit and then returns it.
/// - Every change that needs the row makes it with `INSERT … ON CONFLICT DO NOTHING`, then updates it in place.
extension PostgresStore {
    public func billingAccount(organizationID: String) async throws -> BillingAccount {
        try await read { connection in try await Self.billingAccount(connection, organizationID: organizationID, logger: logger) }
    }

    public func setStripeCustomerID(_ customerID: String, organizationID: String) async throws -> String {
        try await read { connection in
            let now = WallClock.nowMs()
            let rows = try await connection.query(
                """
                INSERT INTO billing_accounts (organization_id, stripe_customer_id, updated_at) VALUES (\(organizationID), \(customerID), \(now))
                ON CONFLICT (organization_id) DO UPDATE SET
                  stripe_customer_id = coalesce(billing_accounts.stripe_customer_id, excluded.stripe_customer_id),
                  updated_at = CASE WHEN billing_accounts.stripe_customer_id IS NULL THEN excluded.updated_at ELSE billing_accounts.updated_at END
                RETURNING stripe_customer_id
                """, logger: logger
            ).collect()
            return try rows.first?.decode(String.self) ?? customerID
        }
    }

    public func attachTopUpCard(customerID: String, paymentMethodID: String, organizationID: String) async throws -> BillingAccount {
        try await transaction { connection in
            let now = WallClock.nowMs()
            try await Self.ensureBillingAccountRow(connection, organizationID: organizationID, now: now, logger: logger)
            // A new card: a declined one's failure no longer holds (a dispute's pause does). Every CASE reads the old state.
            _ = try await connection.query(
                """
                UPDATE billing_accounts SET stripe_customer_id = \(customerID), payment_method_id = \(paymentMethodID),
                  payment_method_created_at = \(now), updated_at = \(now),
                  last_error = CASE WHEN state = 'failing' THEN NULL ELSE last_error END,
                  last_error_at = CASE WHEN state = 'failing' THEN NULL ELSE last_error_at END,
                  state = CASE WHEN state = 'failing' THEN 'idle' ELSE state END
                WHERE organization_id = \(organizationID)
                """, logger: logger
            ).collect()
            return try await Self.billingAccount(connection, organizationID: organizationID, logger: logger)
        }
    }

    public func setAutoTopUp(_ settings: AutoTopUpSettings, organizationID: String) async throws -> BillingAccount {
        guard settings.threshold.value >= 0, settings.monthlyLimit >= 0 else {
            throw StoreError.invalid("the threshold and the monthly limit cannot be negative")
        }
        return try await transaction { connection in
            let now = WallClock.nowMs()
            try await Self.ensureBillingAccountRow(connection, organizationID: organizationID, now: now, logger: logger)
            // Enabling is the admin's explicit act: the only way out of `paused` (and, besides a new card, of `failing`).
            _ = try await connection.query(
                """
                UPDATE billing_accounts SET auto_topup_enabled = \(settings.enabled), threshold_micros = \(settings.threshold.value),
                  pack_id = \(settings.packID), monthly_limit = \(settings.monthlyLimit), updated_at = \(now),
                  state = CASE WHEN \(settings.enabled) THEN 'idle' ELSE state END,
                  last_error = CASE WHEN \(settings.enabled) THEN NULL ELSE last_error END,
                  last_error_at = CASE WHEN \(settings.enabled) THEN NULL ELSE last_error_at END
                WHERE organization_id = \(organizationID)
                """, logger: logger
            ).collect()
            return try await Self.billingAccount(connection, organizationID: organizationID, logger: logger)
        }
    }

    public func claimTopUp(_ purchase: PurchaseRecord, monthStart: Int64) async throws -> TopUpClaim {
        let logger = logger
        return try await transaction { connection in
            let now = WallClock.nowMs()
            let org = purchase.organizationID
            // The lock every claim of this organisation waits for: the checks below and the write commit together.
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.billingColumns) FROM billing_accounts WHERE organization_id = \(org) FOR UPDATE", logger: logger
            ).collect()
            guard let row = rows.first else { return .notNeeded("auto top-up is off") }
            let account = try Self.billingAccount(from: row)
            guard account.autoTopUp.enabled else { return .notNeeded("auto top-up is off") }
            guard try await !Self.hasPendingTopUp(connection, organizationID: org, logger: logger) else {
                return .notNeeded("a top-up is already in flight")
            }
            var state = account.state
            // Last month's limit does not hold this month.
            if state == .monthlyLimitReached, (account.lastErrorAt ?? Int64.min) < monthStart { state = .idle }
            guard state == .idle else { return .notNeeded("auto top-up is \(state.rawValue)") }
            guard let customerID = account.stripeCustomerID, let paymentMethodID = account.paymentMethodID else {
                return .notNeeded("no card saved")
            }
            let available =
                try await connection.query(
                    "SELECT regular_micros + trial_micros FROM credit_accounts WHERE organization_id = \(org)", logger: logger
                ).collect().first?.decode(Int64.self) ?? 0
            guard available < account.autoTopUp.threshold.value else { return .notNeeded("available is not below the threshold") }
            let spent = try await Self.topUpSpend(connection, organizationID: org, since: monthStart, logger: logger)
            var record = purchase
            record.kind = .topup
            guard spent + purchase.amount <= account.autoTopUp.monthlyLimit else {
                // Recorded once a month: the state now blocks the next claims until next month or an admin's change.
                let reason = "monthly_limit_reached"
                record.status = .refused
                record.failureReason = reason
                record.completedAt = now
                _ = try await Self.insertPurchaseRow(connection, record, logger: logger)
                _ = try await connection.query(
                    """
                    UPDATE billing_accounts SET state = 'monthly_limit_reached', last_error = \(reason), last_error_at = \(now), updated_at = \(now)
                    WHERE organization_id = \(org)
                    """, logger: logger
                ).collect()
                return .refused(reason)
            }
            record.status = .pending
            guard try await Self.insertPurchaseRow(connection, record, unlessTopUpPending: true, logger: logger) else {
                return .notNeeded("a top-up is already in flight")
            }
            if account.state == .monthlyLimitReached {
                // Last month's limit, now lifted: the account reads idle again once this top-up is answered.
                _ = try await connection.query(
                    """
                    UPDATE billing_accounts SET state = 'idle', last_error = NULL, last_error_at = NULL, updated_at = \(now)
                    WHERE organization_id = \(org)
                    """, logger: logger
                ).collect()
            }
            return .claimed(record, customerID: customerID, paymentMethodID: paymentMethodID)
        }
    }

    public func topUpSpend(organizationID: String, since: Int64) async throws -> Int64 {
        try await read { connection in try await Self.topUpSpend(connection, organizationID: organizationID, since: since, logger: logger) }
    }

    public func pendingTopUps(claimedBefore: Int64) async throws -> [PurchaseRecord] {
        try await read { connection in
            try await Self.purchaseRows(
                connection,
                """
                SELECT \(unescaped: Self.purchaseColumns) FROM purchases
                WHERE kind = 'topup' AND status = 'pending' AND created_at < \(claimedBefore) ORDER BY created_at, id
                """, logger: logger)
        }
    }

    // MARK: - Rows

    /// What counts against the monthly limit: succeeded and pending top-ups (a pending one may be charged).
    /// `sum` of BIGINT is NUMERIC in PostgreSQL, hence the cast back.
    static func topUpSpend(_ connection: PostgresConnection, organizationID: String, since: Int64, logger: Logger) async throws -> Int64 {
        try await connection.query(
            """
            SELECT coalesce(sum(amount), 0)::BIGINT FROM purchases
            WHERE organization_id = \(organizationID) AND kind = 'topup' AND status IN ('succeeded', 'pending') AND created_at >= \(since)
            """, logger: logger
        ).collect().first?.decode(Int64.self) ?? 0
    }

    /// Makes the organisation's billing row (auto top-up off, idle), for the first change that needs one.
    static func ensureBillingAccountRow(_ connection: PostgresConnection, organizationID: String, now: Int64, logger: Logger) async throws {
        _ = try await connection.query(
            "INSERT INTO billing_accounts (organization_id, updated_at) VALUES (\(organizationID), \(now)) ON CONFLICT (organization_id) DO NOTHING",
            logger: logger
        ).collect()
    }

    static func hasPendingTopUp(_ connection: PostgresConnection, organizationID: String, logger: Logger) async throws -> Bool {
        try await !connection.query(
            "SELECT 1 FROM purchases WHERE organization_id = \(organizationID) AND kind = 'topup' AND status = 'pending' LIMIT 1", logger: logger
        ).collect().isEmpty
    }

    /// The account as stored, `inFlight` whenever a top-up is pending (the stored state is never `in_flight`).
    static func billingAccount(_ connection: PostgresConnection, organizationID: String, logger: Logger) async throws -> BillingAccount {
        let rows = try await connection.query(
            "SELECT \(unescaped: billingColumns) FROM billing_accounts WHERE organization_id = \(organizationID)", logger: logger
        ).collect()
        var account = try rows.first.map(billingAccount(from:)) ?? BillingAccount(organizationID: organizationID)
        if try await hasPendingTopUp(connection, organizationID: organizationID, logger: logger) { account.state = .inFlight }
        return account
    }

    /// The columns `billingAccount(from:)` reads.
    static let billingColumns = """
        organization_id, stripe_customer_id, payment_method_id, auto_topup_enabled, threshold_micros, pack_id, monthly_limit, state, \
        last_error, last_error_at
        """

    static func billingAccount(from row: PostgresRow) throws -> BillingAccount {
        let (org, customer, card, enabled, threshold, pack, limit, state, lastError, lastErrorAt) = try row.decode(
            (String, String?, String?, Bool, Int64, String?, Int64, String, String?, Int64?).self)
        return BillingAccount(
            organizationID: org, stripeCustomerID: customer, paymentMethodID: card,
            autoTopUp: AutoTopUpSettings(enabled: enabled, threshold: MicroCredits(threshold), packID: pack, monthlyLimit: limit),
            state: AutoTopUpState(rawValue: state) ?? .idle, lastError: lastError, lastErrorAt: lastErrorAt)
    }
}
