import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// Purchases and the Stripe events that settle them, on PostgreSQL. Each change is one transaction (READ COMMITTED):
///
/// - The purchase row is read `FOR UPDATE` first, so every change to one purchase (a webhook, its replays, another
///   replica's delivery, a top-up's synchronous answer) runs one after the other and sees the state the previous
///   one committed.
/// - The Stripe event id goes in with `INSERT … ON CONFLICT (id) DO NOTHING RETURNING id` in the same transaction as
///   its effect: no row back means another transaction committed it, so `.alreadyApplied` and nothing else changes
///   (a concurrent duplicate waits on the id's index entry until the first commits or rolls back).
/// - Money moves through `appendPaymentLedgerEntry`: the balance's `UPDATE … RETURNING` locks the row until COMMIT
///   and gives the figures after the change, which the ledger entry records (available and reserved after).
/// - Locks are taken in one order, purchase → credit account → billing account, so two changes on one organisation
///   wait for each other and never deadlock (a dispute takes its credits before it pauses auto top-up).
///
/// What refunds and disputes take back: `refund_share_micros` (what the cumulative refunds are owed) plus the
/// shares of the open and lost disputes, capped at the purchase's credits, is what should be taken back; the
/// purchase's `credits_taken_back_micros` is what the ledger took. Each event posts the difference as one entry,
/// so a refund after a lost dispute never takes the credits twice, and a won dispute gives back only what the
/// refunds do not owe.
extension PostgresStore {
    public func createPurchase(_ purchase: PurchaseRecord) async throws {
        try await read { connection in
            _ = try await Self.insertPurchaseRow(connection, purchase, logger: logger)
        }
    }

    public func setCheckoutSession(purchaseID: String, sessionID: String) async throws {
        try await read { connection in
            let rows = try await connection.query(
                "UPDATE purchases SET checkout_session_id = \(sessionID) WHERE id = \(purchaseID) RETURNING id", logger: logger
            ).collect()
            guard rows.count == 1 else { throw StoreError.notFound("purchase \(purchaseID)") }
        }
    }

    public func purchase(id: String) async throws -> PurchaseRecord? {
        try await read { connection in
            try await Self.purchaseRows(
                connection, "SELECT \(unescaped: Self.purchaseColumns) FROM purchases WHERE id = \(id)", logger: logger
            ).first
        }
    }

    public func purchase(stripeID: String) async throws -> PurchaseRecord? {
        try await read { connection in
            // Three lookups, each on its own partial index (an OR would scan the table).
            for column in ["checkout_session_id", "payment_intent_id", "charge_id"] {
                let query: PostgresQuery = "SELECT \(unescaped: Self.purchaseColumns) FROM purchases WHERE \(unescaped: column) = \(stripeID) LIMIT 1"
                if let found = try await Self.purchaseRows(connection, query, logger: logger).first { return found }
            }
            return nil
        }
    }

    public func purchases(organizationID: String, limit: Int) async throws -> [PurchaseRecord] {
        try await read { connection in
            try await Self.purchaseRows(
                connection,
                """
                SELECT \(unescaped: Self.purchaseColumns) FROM purchases WHERE organization_id = \(organizationID)
                ORDER BY created_at DESC, id DESC LIMIT \(Int64(limit))
                """, logger: logger)
        }
    }

    public func applyPayment(_ change: PaymentChange, eventID: String?) async throws -> PaymentChangeOutcome {
        let logger = logger
        return try await transaction { connection in
            let now = WallClock.nowMs()
            // An unknown purchase does not store the event id: a retry of the event applies once the purchase exists.
            let locked = try await Self.purchaseRows(
                connection, "SELECT \(unescaped: Self.purchaseColumns) FROM purchases WHERE id = \(change.purchaseID) FOR UPDATE",
                logger: logger)
            guard let purchase = locked.first else { return .unknownPurchase }
            if let eventID {
                let stored = try await connection.query(
                    """
                    INSERT INTO stripe_events (id, type, applied_at) VALUES (\(eventID), \(change.eventType), \(now))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """, logger: logger
                ).collect()
                guard !stored.isEmpty else { return .alreadyApplied }
            }
            let payments = PaymentTransaction(connection: connection, logger: logger, now: now)
            // A refund or dispute in another currency is no share of the purchase: recorded (above), flagged, nothing moved.
            if let reason = change.currencyMismatch(with: purchase) { return .flagged(reason: reason) }
            switch change {
            case .paid(_, let amount, let currency, let paymentIntentID, let chargeID, let paymentMethodID):
                return try await payments.applyPaid(
                    purchase, amount: amount, currency: currency, paymentIntentID: paymentIntentID, chargeID: chargeID,
                    paymentMethodID: paymentMethodID)
            case .failed(_, let reason, let paymentIntentID):
                return try await payments.applyFailed(purchase, reason: reason, paymentIntentID: paymentIntentID)
            case .expired:
                guard purchase.status == .pending else { return .alreadyApplied }
                try await payments.run("UPDATE purchases SET status = 'expired', completed_at = \(now) WHERE id = \(purchase.id)")
                return .recorded
            case .refunded(_, let amountRefunded, _, let chargeID):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                guard amountRefunded > purchase.refundedAmount else { return .recorded }
                let refundShare = Self.share(of: purchase.credits.value, part: amountRefunded, whole: purchase.amount)
                try await payments.run(
                    """
                    UPDATE purchases SET refunded_amount = \(amountRefunded), refund_share_micros = \(refundShare),
                      charge_id = coalesce(charge_id, \(chargeID)) WHERE id = \(purchase.id)
                    """)
                return try await payments.takeBack(
                    purchase, kind: .refund, reason: "refund \(purchase.id): \(amountRefunded) of \(purchase.amount) \(purchase.currency) refunded")
            case .disputeOpened(_, let disputeID, let amount, _):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                guard try await !payments.disputeExists(id: disputeID) else { return .alreadyApplied }
                try await payments.insertDispute(id: disputeID, purchase: purchase, amount: amount, status: "open")
                // Credits first, then the billing row: the lock order of every payment change.
                let outcome = try await payments.takeBack(purchase, kind: .dispute, reason: "dispute \(disputeID) opened on \(purchase.id)")
                try await payments.pauseAutoTopUp(organizationID: purchase.organizationID, disputeID: disputeID)
                return outcome
            case .disputeClosed(_, let disputeID, let amount, _, let won):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                return try await payments.applyDisputeClosed(purchase, disputeID: disputeID, amount: amount, won: won)
            }
        }
    }

    // MARK: - Shared with the billing area

    /// The columns `purchaseRecord(from:)` reads, in its order.
    static let purchaseColumns = """
        id, organization_id, kind, status, pack_id, credits_micros, amount, currency, checkout_session_id, payment_intent_id, \
        charge_id, failure_reason, refunded_amount, credits_taken_back_micros, created_at, completed_at
        """

    static func purchaseRows(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> [PurchaseRecord] {
        var records: [PurchaseRecord] = []
        for try await row in try await connection.query(query, logger: logger) {
            records.append(try purchaseRecord(from: row))
        }
        return records
    }

    static func purchaseRecord(from row: PostgresRow) throws -> PurchaseRecord {
        let cells = row.makeRandomAccess()
        return PurchaseRecord(
            id: try cells["id"].decode(String.self), organizationID: try cells["organization_id"].decode(String.self),
            kind: PurchaseKind(rawValue: try cells["kind"].decode(String.self)) ?? .checkout,
            status: PurchaseStatus(rawValue: try cells["status"].decode(String.self)) ?? .flagged,
            packID: try cells["pack_id"].decode(String.self), credits: MicroCredits(try cells["credits_micros"].decode(Int64.self)),
            amount: try cells["amount"].decode(Int64.self), currency: try cells["currency"].decode(String.self),
            checkoutSessionID: try cells["checkout_session_id"].decode(String?.self),
            paymentIntentID: try cells["payment_intent_id"].decode(String?.self), chargeID: try cells["charge_id"].decode(String?.self),
            failureReason: try cells["failure_reason"].decode(String?.self), refundedAmount: try cells["refunded_amount"].decode(Int64.self),
            creditsTakenBack: MicroCredits(try cells["credits_taken_back_micros"].decode(Int64.self)),
            createdAt: try cells["created_at"].decode(Int64.self), completedAt: try cells["completed_at"].decode(Int64?.self))
    }

    /// Writes a purchase. With `unlessTopUpPending`, a pending top-up that would be the organisation's second
    /// is not written (`ON CONFLICT` on `purchases_one_pending_topup`, so the transaction goes on) and the answer is
    /// false; otherwise a duplicate id or second pending top-up throws `.duplicate`, an unknown organisation `.notFound`.
    static func insertPurchaseRow(
        _ connection: PostgresConnection, _ purchase: PurchaseRecord, unlessTopUpPending: Bool = false, logger: Logger
    ) async throws -> Bool {
        let onConflict = unlessTopUpPending ? "ON CONFLICT (organization_id) WHERE kind = 'topup' AND status = 'pending' DO NOTHING" : ""
        do {
            let rows = try await connection.query(
                """
                INSERT INTO purchases (id, organization_id, kind, status, pack_id, credits_micros, amount, currency, checkout_session_id,
                  payment_intent_id, charge_id, failure_reason, refunded_amount, credits_taken_back_micros, created_at, completed_at)
                VALUES (\(purchase.id), \(purchase.organizationID), \(purchase.kind.rawValue), \(purchase.status.rawValue),
                  \(purchase.packID), \(purchase.credits.value), \(purchase.amount), \(purchase.currency.lowercased()),
                  \(purchase.checkoutSessionID), \(purchase.paymentIntentID), \(purchase.chargeID), \(purchase.failureReason),
                  \(purchase.refundedAmount), \(purchase.creditsTakenBack.value), \(purchase.createdAt), \(purchase.completedAt))
                \(unescaped: onConflict) RETURNING id
                """, logger: logger
            ).collect()
            return !rows.isEmpty
        } catch let error where isUniqueViolation(error) {
            throw StoreError.duplicate("purchase \(purchase.id) (or a pending top-up of \(purchase.organizationID))")
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.foreignKeyViolation.raw {
            throw StoreError.notFound("organisation \(purchase.organizationID)")
        }
    }

    /// Moves `regular` credits of the organisation (negative takes them back; available may go below zero, like an
    /// overage) and appends the matching ledger entry, inside the caller's transaction: the payment area's own
    /// ledger write, the twin of `SQLiteStore.apply`. The `UPDATE … RETURNING` locks the balance row until COMMIT
    /// and gives the figures after the move, which the entry records.
    static func appendPaymentLedgerEntry(
        _ connection: PostgresConnection, organizationID: String, kind: LedgerEntryKind, regular: Int64, reason: String, now: Int64,
        logger: Logger
    ) async throws -> CreditBalance {
        // The first purchase of an organisation may come before any other balance change.
        _ = try await connection.query(
            "INSERT INTO credit_accounts (organization_id, updated_at) VALUES (\(organizationID), \(now)) ON CONFLICT (organization_id) DO NOTHING",
            logger: logger
        ).collect()
        let rows = try await connection.query(
            """
            UPDATE credit_accounts SET regular_micros = regular_micros + \(regular), updated_at = \(now)
            WHERE organization_id = \(organizationID)
            RETURNING regular_micros, trial_micros, trial_expires_at, reserved_micros
            """, logger: logger
        ).collect()
        guard let row = rows.first else { throw StoreError.invalid("organisation \(organizationID) has no credit account") }
        let (regularAfter, trialAfter, trialExpiresAt, reservedAfter) = try row.decode((Int64, Int64, Int64?, Int64).self)
        let balance = CreditBalance(
            regular: MicroCredits(regularAfter), trial: MicroCredits(trialAfter), trialExpiresAt: trialExpiresAt,
            reserved: MicroCredits(reservedAfter))
        _ = try await connection.query(
            """
            INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
              available_after_micros, reserved_after_micros, request_id, reason, created_at)
            VALUES (\(organizationID), \(kind.rawValue), \(regular), 0, 0, \(balance.available.value), \(balance.reserved.value),
              NULL, \(reason), \(now))
            """, logger: logger
        ).collect()
        return balance
    }

    /// `credits × part / whole`, rounded down, exactly `credits` once `part` reaches `whole`; no overflow.
    static func share(of credits: Int64, part: Int64, whole: Int64) -> Int64 {
        guard part > 0, whole > 0, credits > 0 else { return 0 }
        guard part < whole else { return credits }
        // part < whole, so the quotient is below `credits` and fits.
        return whole.dividingFullWidth(credits.multipliedFullWidth(by: part)).quotient
    }
}

/// The changes of one `applyPayment`, on its transaction's connection (the purchase row already locked).
private struct PaymentTransaction {
    let connection: PostgresConnection
    let logger: Logger
    let now: Int64

    @discardableResult
    func run(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await connection.query(query, logger: logger).collect()
    }

    func applyPaid(
        _ purchase: PurchaseRecord, amount: Int64, currency: String, paymentIntentID: String?, chargeID: String?, paymentMethodID: String?
    ) async throws -> PaymentChangeOutcome {
        // Only a pending purchase is granted: whichever of a top-up's synchronous answer and its webhook comes
        // second finds it succeeded.
        guard purchase.status == .pending else { return .alreadyApplied }
        guard amount == purchase.amount, currency.lowercased() == purchase.currency.lowercased() else {
            let reason = "paid \(amount) \(currency.lowercased()), the purchase is \(purchase.amount) \(purchase.currency)"
            try await run(
                """
                UPDATE purchases SET status = 'flagged', failure_reason = \(reason), completed_at = \(now),
                  payment_intent_id = coalesce(\(paymentIntentID), payment_intent_id), charge_id = coalesce(\(chargeID), charge_id)
                WHERE id = \(purchase.id)
                """)
            return .flagged(reason: reason)
        }
        try await run(
            """
            UPDATE purchases SET status = 'succeeded', completed_at = \(now), payment_intent_id = coalesce(\(paymentIntentID), payment_intent_id),
              charge_id = coalesce(\(chargeID), charge_id), payment_method_id = coalesce(\(paymentMethodID), payment_method_id)
            WHERE id = \(purchase.id)
            """)
        let what = purchase.kind == .checkout ? "checkout" : "auto top-up"
        let balance = try await PostgresStore.appendPaymentLedgerEntry(
            connection, organizationID: purchase.organizationID, kind: .purchase, regular: purchase.credits.value,
            reason: "\(what) \(purchase.id)", now: now, logger: logger)
        if purchase.kind == .checkout, let paymentMethodID {
            try await saveCard(organizationID: purchase.organizationID, paymentMethodID: paymentMethodID, savedBy: purchase.createdAt)
        }
        return .applied(balance)
    }

    /// The checkout's card becomes the top-up card unless a newer checkout's is saved already (webhooks arrive in
    /// any order). A new card is also what takes a `failing` auto top-up back to `idle`.
    func saveCard(organizationID: String, paymentMethodID: String, savedBy createdAt: Int64) async throws {
        try await PostgresStore.ensureBillingAccountRow(connection, organizationID: organizationID, now: now, logger: logger)
        try await run(
            """
            UPDATE billing_accounts SET payment_method_id = \(paymentMethodID), payment_method_created_at = \(createdAt), updated_at = \(now),
              last_error = CASE WHEN state = 'failing' THEN NULL ELSE last_error END,
              last_error_at = CASE WHEN state = 'failing' THEN NULL ELSE last_error_at END,
              state = CASE WHEN state = 'failing' THEN 'idle' ELSE state END
            WHERE organization_id = \(organizationID) AND (payment_method_created_at IS NULL OR payment_method_created_at <= \(createdAt))
            """)
    }

    func applyFailed(_ purchase: PurchaseRecord, reason: String, paymentIntentID: String?) async throws -> PaymentChangeOutcome {
        guard purchase.status == .pending else { return .alreadyApplied }
        try await run(
            """
            UPDATE purchases SET status = 'failed', failure_reason = \(reason), completed_at = \(now),
              payment_intent_id = coalesce(\(paymentIntentID), payment_intent_id)
            WHERE id = \(purchase.id)
            """)
        if purchase.kind == .topup {
            // Not retried: only an admin (or a new card) takes it out of `failing`. A dispute's pause stays the
            // stronger state, so a new card cannot silently undo it.
            try await PostgresStore.ensureBillingAccountRow(connection, organizationID: purchase.organizationID, now: now, logger: logger)
            try await run(
                """
                UPDATE billing_accounts SET state = 'failing', last_error = \(reason), last_error_at = \(now), updated_at = \(now)
                WHERE organization_id = \(purchase.organizationID) AND state <> 'paused'
                """)
        }
        return .recorded
    }

    func applyDisputeClosed(_ purchase: PurchaseRecord, disputeID: String, amount: Int64, won: Bool) async throws -> PaymentChangeOutcome {
        let status = won ? "won" : "lost"
        let known = try await run("SELECT status FROM disputes WHERE id = \(disputeID) FOR UPDATE").first?.decode(String.self)
        guard let known else {
            // Never seen open (events out of order): lost takes the credits as an opening would have; won changes nothing.
            try await insertDispute(id: disputeID, purchase: purchase, amount: amount, status: status, closed: true)
            guard !won else { return .recorded }
            let outcome = try await takeBack(purchase, kind: .dispute, reason: "dispute \(disputeID) lost on \(purchase.id)")
            try await pauseAutoTopUp(organizationID: purchase.organizationID, disputeID: disputeID)
            return outcome
        }
        guard known == "open" else { return .alreadyApplied }
        try await run("UPDATE disputes SET status = \(status), closed_at = \(now) WHERE id = \(disputeID)")
        // Lost: what the opening took stays taken (nothing moves). Won: its share is no longer owed and comes back.
        return try await takeBack(purchase, kind: .dispute, reason: "dispute \(disputeID) \(status) on \(purchase.id)")
    }

    /// Brings what the ledger took back for this purchase to what its refunds and open or lost disputes owe
    /// (at most its credits), as one entry of `kind` for the difference: `.applied` if money moved, else `.recorded`.
    func takeBack(_ purchase: PurchaseRecord, kind: LedgerEntryKind, reason: String) async throws -> PaymentChangeOutcome {
        let rows = try await run(
            """
            SELECT refund_share_micros, credits_taken_back_micros,
              coalesce((SELECT sum(credits_micros) FROM disputes WHERE purchase_id = \(purchase.id) AND status IN ('open', 'lost')), 0)::BIGINT
            FROM purchases WHERE id = \(purchase.id)
            """)
        guard let row = rows.first else { throw StoreError.notFound("purchase \(purchase.id)") }
        let (refundShare, taken, disputeShare) = try row.decode((Int64, Int64, Int64).self)
        let credits = purchase.credits.value
        let owed = min(credits, min(refundShare, credits) + min(disputeShare, credits))
        let delta = owed - taken
        guard delta != 0 else { return .recorded }
        try await run("UPDATE purchases SET credits_taken_back_micros = \(owed) WHERE id = \(purchase.id)")
        let balance = try await PostgresStore.appendPaymentLedgerEntry(
            connection, organizationID: purchase.organizationID, kind: kind, regular: -delta, reason: reason, now: now, logger: logger)
        return .applied(balance)
    }

    func disputeExists(id: String) async throws -> Bool {
        try await !run("SELECT 1 FROM disputes WHERE id = \(id)").isEmpty
    }

    func insertDispute(id: String, purchase: PurchaseRecord, amount: Int64, status: String, closed: Bool = false) async throws {
        let credits = PostgresStore.share(of: purchase.credits.value, part: amount, whole: purchase.amount)
        let closedAt: Int64? = closed ? now : nil
        try await run(
            """
            INSERT INTO disputes (id, purchase_id, credits_micros, status, created_at, closed_at)
            VALUES (\(id), \(purchase.id), \(credits), \(status), \(now), \(closedAt))
            """)
    }

    /// A dispute pauses auto top-up until an admin enables it again.
    func pauseAutoTopUp(organizationID: String, disputeID: String) async throws {
        try await PostgresStore.ensureBillingAccountRow(connection, organizationID: organizationID, now: now, logger: logger)
        let lastError = "payment disputed (\(disputeID))"
        try await run(
            """
            UPDATE billing_accounts SET state = 'paused', last_error = \(lastError), last_error_at = \(now), updated_at = \(now)
            WHERE organization_id = \(organizationID)
            """)
    }
}
