import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// Purchases and the Stripe events that settle them, on SQLite. Every change runs in one `BEGIN IMMEDIATE`
/// transaction (`SQLiteWriteBatcher`): the write lock is taken before the purchase is read, so the check of its
/// state, the event id, the ledger entry and the new state commit together or not at all, and two processes
/// delivering the same event apply it once.
///
/// What refunds and disputes take back: `refund_share_micros` (what the cumulative refunds are owed) plus the
/// shares of the open and lost disputes, capped at the purchase's credits, is what should be taken back; the
/// purchase's `credits_taken_back_micros` is what the ledger took. Each event posts the difference as one entry,
/// so a refund after a lost dispute never takes the credits twice, and a won dispute gives back only what the
/// refunds do not owe.
extension SQLiteStore {
    public func createPurchase(_ purchase: PurchaseRecord) async throws {
        try await writes.write { db in try Self.insertPurchase(db, purchase) }
    }

    public func setCheckoutSession(purchaseID: String, sessionID: String) async throws {
        try await writes.write { db in
            try db.execute(sql: "UPDATE purchases SET checkout_session_id = ? WHERE id = ?", arguments: [sessionID, purchaseID])
            guard db.changesCount == 1 else { throw StoreError.notFound("purchase \(purchaseID)") }
        }
    }

    public func purchase(id: String) async throws -> PurchaseRecord? {
        try await pool.read { db in try Self.purchaseRow(db, id: id).map(Self.purchase(from:)) }
    }

    public func purchase(stripeID: String) async throws -> PurchaseRecord? {
        try await pool.read { db in
            // Three lookups, each on its own partial index (an OR would scan the table).
            for column in ["checkout_session_id", "payment_intent_id", "charge_id"] {
                if let row = try Row.fetchOne(db, sql: "SELECT * FROM purchases WHERE \(column) = ? LIMIT 1", arguments: [stripeID]) {
                    return Self.purchase(from: row)
                }
            }
            return nil
        }
    }

    public func purchases(organizationID: String, limit: Int) async throws -> [PurchaseRecord] {
        try await pool.read { db in
            try Self.newestRows(db, of: "purchases", orderedBy: "created_at DESC, id DESC", organizationID: organizationID, limit: limit)
                .map(Self.purchase(from:))
        }
    }

    public func applyPayment(_ change: PaymentChange, eventID: String?) async throws -> PaymentChangeOutcome {
        try await writes.write { db in
            let now = WallClock.nowMs()
            // An unknown purchase does not store the event id: a retry of the event applies once the purchase exists.
            guard let row = try Self.purchaseRow(db, id: change.purchaseID) else { return .unknownPurchase }
            if let eventID {
                // Same transaction as the effect: a duplicate (a replay, or another process) waits for the write
                // lock, then finds the id and changes nothing.
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO stripe_events (id, type, applied_at) VALUES (?, ?, ?)")
                    .execute(arguments: [eventID, change.eventType, now])
                guard db.changesCount == 1 else { return .alreadyApplied }
            }
            let purchase = Self.purchase(from: row)
            // A refund or dispute in another currency is no share of the purchase: recorded (above), flagged, nothing moved.
            if let reason = change.currencyMismatch(with: purchase) { return .flagged(reason: reason) }
            switch change {
            case .paid(_, let amount, let currency, let paymentIntentID, let chargeID, let paymentMethodID):
                return try Self.applyPaid(
                    db, purchase, amount: amount, currency: currency, paymentIntentID: paymentIntentID, chargeID: chargeID,
                    paymentMethodID: paymentMethodID, now: now)
            case .failed(_, let reason, let paymentIntentID):
                return try Self.applyFailed(db, purchase, reason: reason, paymentIntentID: paymentIntentID, now: now)
            case .expired:
                guard purchase.status == .pending else { return .alreadyApplied }
                try db.execute(
                    sql: "UPDATE purchases SET status = 'expired', completed_at = ? WHERE id = ?", arguments: [now, purchase.id])
                return .recorded
            case .refunded(_, let amountRefunded, _, let chargeID):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                guard amountRefunded > purchase.refundedAmount else { return .recorded }
                try db.execute(
                    sql: """
                        UPDATE purchases SET refunded_amount = ?, refund_share_micros = ?, charge_id = coalesce(charge_id, ?) WHERE id = ?
                        """,
                    arguments: [
                        amountRefunded, Self.share(of: purchase.credits.value, part: amountRefunded, whole: purchase.amount),
                        chargeID, purchase.id,
                    ])
                return try Self.takeBack(
                    db, purchase, kind: .refund,
                    reason: "refund \(purchase.id): \(amountRefunded) of \(purchase.amount) \(purchase.currency) refunded", now: now)
            case .disputeOpened(_, let disputeID, let amount, _):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                guard try !Self.disputeExists(db, id: disputeID) else { return .alreadyApplied }
                try Self.insertDispute(db, id: disputeID, purchase: purchase, amount: amount, status: "open", now: now)
                try Self.pauseAutoTopUp(db, organizationID: purchase.organizationID, disputeID: disputeID, now: now)
                return try Self.takeBack(db, purchase, kind: .dispute, reason: "dispute \(disputeID) opened on \(purchase.id)", now: now)
            case .disputeClosed(_, let disputeID, let amount, _, let won):
                guard purchase.status == .succeeded else { return .alreadyApplied }
                return try Self.applyDisputeClosed(db, purchase, disputeID: disputeID, amount: amount, won: won, now: now)
            }
        }
    }

    // MARK: - The changes

    private static func applyPaid(
        _ db: Database, _ purchase: PurchaseRecord, amount: Int64, currency: String, paymentIntentID: String?, chargeID: String?,
        paymentMethodID: String?, now: Int64
    ) throws -> PaymentChangeOutcome {
        // Only a pending purchase is granted: whichever of a top-up's synchronous answer and its webhook comes
        // second finds it succeeded.
        guard purchase.status == .pending else { return .alreadyApplied }
        guard amount == purchase.amount, currency.lowercased() == purchase.currency.lowercased() else {
            let reason = "paid \(amount) \(currency.lowercased()), the purchase is \(purchase.amount) \(purchase.currency)"
            try db.execute(
                sql: """
                    UPDATE purchases SET status = 'flagged', failure_reason = ?, completed_at = ?,
                      payment_intent_id = coalesce(?, payment_intent_id), charge_id = coalesce(?, charge_id)
                    WHERE id = ?
                    """,
                arguments: [reason, now, paymentIntentID, chargeID, purchase.id])
            return .flagged(reason: reason)
        }
        try db.execute(
            sql: """
                UPDATE purchases SET status = 'succeeded', completed_at = ?, payment_intent_id = coalesce(?, payment_intent_id),
                  charge_id = coalesce(?, charge_id), payment_method_id = coalesce(?, payment_method_id)
                WHERE id = ?
                """,
            arguments: [now, paymentIntentID, chargeID, paymentMethodID, purchase.id])
        try ensureAccount(db, organizationID: purchase.organizationID, now: now)
        let what = purchase.kind == .checkout ? "checkout" : "auto top-up"
        let balance = try apply(
            db, organizationID: purchase.organizationID, kind: .purchase, regular: purchase.credits.value, requestID: nil,
            reason: "\(what) \(purchase.id)", now: now)
        if purchase.kind == .checkout, let paymentMethodID {
            try saveCard(db, organizationID: purchase.organizationID, paymentMethodID: paymentMethodID, savedBy: purchase.createdAt, now: now)
        }
        return .applied(balance)
    }

    /// The checkout's card becomes the top-up card unless a newer checkout's is saved already (webhooks arrive in
    /// any order). A new card is also what takes a `failing` auto top-up back to `idle`.
    private static func saveCard(_ db: Database, organizationID: String, paymentMethodID: String, savedBy createdAt: Int64, now: Int64) throws {
        try ensureBillingAccount(db, organizationID: organizationID, now: now)
        try db.execute(
            sql: """
                UPDATE billing_accounts SET payment_method_id = ?, payment_method_created_at = ?, updated_at = ?,
                  last_error = CASE WHEN state = 'failing' THEN NULL ELSE last_error END,
                  last_error_at = CASE WHEN state = 'failing' THEN NULL ELSE last_error_at END,
                  state = CASE WHEN state = 'failing' THEN 'idle' ELSE state END
                WHERE organization_id = ? AND (payment_method_created_at IS NULL OR payment_method_created_at <= ?)
                """,
            arguments: [paymentMethodID, createdAt, now, organizationID, createdAt])
    }

    private static func applyFailed(
        _ db: Database, _ purchase: PurchaseRecord, reason: String, paymentIntentID: String?, now: Int64
    ) throws -> PaymentChangeOutcome {
        guard purchase.status == .pending else { return .alreadyApplied }
        try db.execute(
            sql: """
                UPDATE purchases SET status = 'failed', failure_reason = ?, completed_at = ?, payment_intent_id = coalesce(?, payment_intent_id)
                WHERE id = ?
                """,
            arguments: [reason, now, paymentIntentID, purchase.id])
        if purchase.kind == .topup {
            // Not retried: only an admin (or a new card) takes it out of `failing`. A dispute's pause stays the
            // stronger state, so a new card cannot silently undo it.
            try ensureBillingAccount(db, organizationID: purchase.organizationID, now: now)
            try db.execute(
                sql: """
                    UPDATE billing_accounts SET state = 'failing', last_error = ?, last_error_at = ?, updated_at = ?
                    WHERE organization_id = ? AND state != 'paused'
                    """,
                arguments: [reason, now, now, purchase.organizationID])
        }
        return .recorded
    }

    private static func applyDisputeClosed(
        _ db: Database, _ purchase: PurchaseRecord, disputeID: String, amount: Int64, won: Bool, now: Int64
    ) throws -> PaymentChangeOutcome {
        let status = won ? "won" : "lost"
        guard let known = try String.fetchOne(db, sql: "SELECT status FROM disputes WHERE id = ?", arguments: [disputeID]) else {
            // Never seen open (events out of order): lost takes the credits as an opening would have; won changes nothing.
            try insertDispute(db, id: disputeID, purchase: purchase, amount: amount, status: status, now: now, closed: true)
            guard !won else { return .recorded }
            try pauseAutoTopUp(db, organizationID: purchase.organizationID, disputeID: disputeID, now: now)
            return try takeBack(db, purchase, kind: .dispute, reason: "dispute \(disputeID) lost on \(purchase.id)", now: now)
        }
        guard known == "open" else { return .alreadyApplied }
        try db.execute(sql: "UPDATE disputes SET status = ?, closed_at = ? WHERE id = ?", arguments: [status, now, disputeID])
        // Lost: what the opening took stays taken (nothing moves). Won: its share is no longer owed and comes back.
        return try takeBack(db, purchase, kind: .dispute, reason: "dispute \(disputeID) \(status) on \(purchase.id)", now: now)
    }

    /// Brings what the ledger took back for this purchase to what its refunds and open or lost disputes owe
    /// (at most its credits), as one entry of `kind` for the difference: `.applied` if money moved, else `.recorded`.
    private static func takeBack(
        _ db: Database, _ purchase: PurchaseRecord, kind: LedgerEntryKind, reason: String, now: Int64
    ) throws -> PaymentChangeOutcome {
        guard
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT refund_share_micros, credits_taken_back_micros,
                      coalesce((SELECT sum(credits_micros) FROM disputes WHERE purchase_id = ? AND status IN ('open', 'lost')), 0)
                    FROM purchases WHERE id = ?
                    """, arguments: [purchase.id, purchase.id])
        else { throw StoreError.notFound("purchase \(purchase.id)") }
        let refundShare: Int64 = row[0]
        let taken: Int64 = row[1]
        let disputeShare: Int64 = row[2]
        let credits = purchase.credits.value
        let owed = min(credits, min(refundShare, credits) + min(disputeShare, credits))
        let delta = owed - taken
        guard delta != 0 else { return .recorded }
        try db.execute(sql: "UPDATE purchases SET credits_taken_back_micros = ? WHERE id = ?", arguments: [owed, purchase.id])
        try ensureAccount(db, organizationID: purchase.organizationID, now: now)
        // Available may go negative, like an overage.
        let balance = try apply(db, organizationID: purchase.organizationID, kind: kind, regular: -delta, requestID: nil, reason: reason, now: now)
        return .applied(balance)
    }

    private static func disputeExists(_ db: Database, id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM disputes WHERE id = ?)", arguments: [id]) ?? false
    }

    private static func insertDispute(
        _ db: Database, id: String, purchase: PurchaseRecord, amount: Int64, status: String, now: Int64, closed: Bool = false
    ) throws {
        try db.execute(
            sql: "INSERT INTO disputes (id, purchase_id, credits_micros, status, created_at, closed_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [
                id, purchase.id, share(of: purchase.credits.value, part: amount, whole: purchase.amount), status, now, closed ? now : nil,
            ])
    }

    /// A dispute pauses auto top-up until an admin enables it again.
    private static func pauseAutoTopUp(_ db: Database, organizationID: String, disputeID: String, now: Int64) throws {
        try ensureBillingAccount(db, organizationID: organizationID, now: now)
        try db.execute(
            sql: "UPDATE billing_accounts SET state = 'paused', last_error = ?, last_error_at = ?, updated_at = ? WHERE organization_id = ?",
            arguments: ["payment disputed (\(disputeID))", now, now, organizationID])
    }

    /// `credits × part / whole`, rounded down, exactly `credits` once `part` reaches `whole`; no overflow.
    static func share(of credits: Int64, part: Int64, whole: Int64) -> Int64 {
        guard part > 0, whole > 0, credits > 0 else { return 0 }
        guard part < whole else { return credits }
        // part < whole, so the quotient is below `credits` and fits.
        return whole.dividingFullWidth(credits.multipliedFullWidth(by: part)).quotient
    }

    // MARK: - Rows

    static func insertPurchase(_ db: Database, _ purchase: PurchaseRecord) throws {
        do {
            try db.execute(
                sql: """
                    INSERT INTO purchases (id, organization_id, kind, status, pack_id, credits_micros, amount, currency, checkout_session_id,
                      payment_intent_id, charge_id, failure_reason, refunded_amount, credits_taken_back_micros, created_at, completed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    purchase.id, purchase.organizationID, purchase.kind.rawValue, purchase.status.rawValue, purchase.packID,
                    purchase.credits.value, purchase.amount, purchase.currency.lowercased(), purchase.checkoutSessionID,
                    purchase.paymentIntentID, purchase.chargeID, purchase.failureReason, purchase.refundedAmount,
                    purchase.creditsTakenBack.value, purchase.createdAt, purchase.completedAt,
                ])
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
            throw StoreError.duplicate("purchase \(purchase.id) (or a pending top-up of \(purchase.organizationID))")
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
            throw StoreError.duplicate("purchase \(purchase.id)")
        } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_FOREIGNKEY {
            throw StoreError.notFound("organisation \(purchase.organizationID)")
        }
    }

    static func purchaseRow(_ db: Database, id: String) throws -> Row? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM purchases WHERE id = ?"), arguments: [id])
    }

    static func purchase(from row: Row) -> PurchaseRecord {
        PurchaseRecord(
            id: row["id"], organizationID: row["organization_id"], kind: PurchaseKind(rawValue: row["kind"]) ?? .checkout,
            status: PurchaseStatus(rawValue: row["status"]) ?? .flagged, packID: row["pack_id"], credits: MicroCredits(row["credits_micros"]),
            amount: row["amount"], currency: row["currency"], checkoutSessionID: row["checkout_session_id"],
            paymentIntentID: row["payment_intent_id"], chargeID: row["charge_id"], failureReason: row["failure_reason"],
            refundedAmount: row["refunded_amount"], creditsTakenBack: MicroCredits(row["credits_taken_back_micros"]),
            createdAt: row["created_at"], completedAt: row["completed_at"])
    }
}
