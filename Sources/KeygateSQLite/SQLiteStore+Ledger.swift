import Foundation
import GRDB
import KeygateCore
import KeygateStore

/// The credit ledger on SQLite. Every method runs inside a `BEGIN IMMEDIATE` transaction (shared with the other
/// writes waiting at that moment: `SQLiteWriteBatcher`): it takes the write lock before reading, so a check and
/// the change it guards can never interleave with another writer, in this process or another one on the same
/// file. The reserve is additionally a conditional `UPDATE … WHERE available >= amount`, so even a logic slip
/// cannot overspend.
extension SQLiteStore {
    /// Applies one balance change and appends its ledger entry, in the caller's transaction. The account row
    /// must exist (`ensureAccount`); the update returns the new balance, so each change is two statements.
    @discardableResult
    static func apply(
        _ db: Database, organizationID: String, kind: LedgerEntryKind, regular: Int64 = 0, trial: Int64 = 0, reserved: Int64 = 0,
        requestID: String?, reason: String?, now: Int64
    ) throws -> CreditBalance {
        let update = try db.cachedStatement(
            sql: """
                UPDATE credit_accounts SET regular_micros = regular_micros + ?, trial_micros = trial_micros + ?,
                  reserved_micros = reserved_micros + ?, updated_at = ?
                WHERE organization_id = ?
                RETURNING regular_micros, trial_micros, trial_expires_at, reserved_micros
                """)
        guard let row = try Row.fetchOne(update, arguments: [regular, trial, reserved, now, organizationID]) else {
            throw StoreError.invalid("organisation \(organizationID) has no credit account")
        }
        let balance = CreditBalance(
            regular: MicroCredits(row[0]), trial: MicroCredits(row[1]), trialExpiresAt: row[2], reserved: MicroCredits(row[3]))
        try appendEntry(
            db, organizationID: organizationID, kind: kind, regular: regular, trial: trial, reserved: reserved,
            after: balance, requestID: requestID, reason: reason, now: now)
        return balance
    }

    static func appendEntry(
        _ db: Database, organizationID: String, kind: LedgerEntryKind, regular: Int64, trial: Int64, reserved: Int64,
        after balance: CreditBalance, requestID: String?, reason: String?, now: Int64
    ) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                  available_after_micros, reserved_after_micros, request_id, reason, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        try insert.execute(arguments: [
            organizationID, kind.rawValue, regular, trial, reserved, balance.available.value,
            balance.reserved.value, requestID, reason, now,
        ])
    }

    /// Makes the organisation's account row, for the changes that may come before any other (grants, fees).
    static func ensureAccount(_ db: Database, organizationID: String, now: Int64) throws {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO credit_accounts (organization_id, updated_at) VALUES (?, ?)")
            .execute(arguments: [organizationID, now])
    }

    static func openReservation(_ db: Database) throws -> Statement {
        try db.cachedStatement(sql: "SELECT organization_id, trial_micros, regular_micros FROM reservations WHERE request_id = ? AND state = 'open'")
    }

    static func balance(_ db: Database, organizationID: String) throws -> CreditBalance {
        let statement = try db.cachedStatement(
            sql: "SELECT regular_micros, trial_micros, trial_expires_at, reserved_micros FROM credit_accounts WHERE organization_id = ?")
        guard let row = try Row.fetchOne(statement, arguments: [organizationID]) else { return CreditBalance() }
        return CreditBalance(regular: MicroCredits(row[0]), trial: MicroCredits(row[1]), trialExpiresAt: row[2], reserved: MicroCredits(row[3]))
    }

    public func balance(organizationID: String) async throws -> CreditBalance {
        try await pool.read { db in try Self.balance(db, organizationID: organizationID) }
    }

    public func addCredits(
        organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64?
    ) async throws -> CreditBalance {
        try LedgerEntryKind.checkAddedByHand(kind, amount: amount)
        return try await writes.write { db in
            try Self.grant(
                db, organizationID: organizationID, amount: amount, kind: kind, reason: reason, trialExpiresAt: trialExpiresAt,
                now: WallClock.nowMs())
        }
    }

    /// Credits added by hand (a grant, purchase, adjustment, trial grant or refund) inside the caller's write.
    static func grant(
        _ db: Database, organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64?,
        now: Int64
    ) throws -> CreditBalance {
        try LedgerEntryKind.checkAddedByHand(kind, amount: amount)
        try ensureAccount(db, organizationID: organizationID, now: now)
        if kind == .trialGrant {
            try db.execute(
                sql: "UPDATE credit_accounts SET trial_expires_at = ? WHERE organization_id = ?", arguments: [trialExpiresAt, organizationID])
            return try apply(db, organizationID: organizationID, kind: kind, trial: amount.value, requestID: nil, reason: reason, now: now)
        }
        return try apply(db, organizationID: organizationID, kind: kind, regular: amount.value, requestID: nil, reason: reason, now: now)
    }

    public func reserve(
        organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> ReservationOutcome {
        let x = amount.value
        return try await writes.write { db in
            let now = WallClock.nowMs()
            // A request id already holding a reservation (open, or released by the sweeper) is a duplicate whatever
            // the balance, as in PostgreSQL's `keygate_ledger_batch`: the same `StoreError` on both backends. Found
            // without a lookup on the hot path: by the reservation's primary key when the balance covers the amount
            // (the write's savepoint undoes the balance move), by a lookup only when it does not.
            let before = try Self.balance(db, organizationID: organizationID)
            let fromTrial = min(max(before.trial.value, 0), x)
            let fromRegular = x - fromTrial
            // The guard itself: the move happens only if trial + regular still cover the amount.
            let update = try db.cachedStatement(
                sql: """
                    UPDATE credit_accounts SET trial_micros = trial_micros - ?, regular_micros = regular_micros - ?,
                      reserved_micros = reserved_micros + ?, updated_at = ?
                    WHERE organization_id = ? AND max(trial_micros, 0) + regular_micros >= ?
                    RETURNING regular_micros, trial_micros, trial_expires_at, reserved_micros
                    """)
            guard let row = try Row.fetchOne(update, arguments: [fromTrial, fromRegular, x, now, organizationID, x]) else {
                let held = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM reservations WHERE request_id = ?)")
                guard try Bool.fetchOne(held, arguments: [requestID]) != true else { throw Self.duplicateReservation(requestID) }
                return .insufficient(before)
            }
            do {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO reservations (request_id, organization_id, trial_micros, regular_micros, state, instance_id, lease_expires_at, created_at)
                        VALUES (?, ?, ?, ?, 'open', ?, ?, ?)
                        """
                ).execute(arguments: [requestID, organizationID, fromTrial, fromRegular, instanceID, leaseExpiresAt, now])
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
                throw Self.duplicateReservation(requestID)
            }
            let after = CreditBalance(
                regular: MicroCredits(row[0]), trial: MicroCredits(row[1]), trialExpiresAt: row[2], reserved: MicroCredits(row[3]))
            try Self.appendEntry(
                db, organizationID: organizationID, kind: .reserve, regular: -fromRegular, trial: -fromTrial, reserved: x,
                after: after, requestID: requestID, reason: nil, now: now)
            return .reserved(trial: MicroCredits(fromTrial), regular: MicroCredits(fromRegular))
        }
    }

    /// What both backends throw for a second reservation under one request id (nothing changes).
    static func duplicateReservation(_ requestID: String) -> StoreError {
        .duplicate("reservation for request '\(requestID)'")
    }

    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            // Open: charge it. Released (the sweeper returned it, e.g. the request outlived its lease): the work
            // was still done, so charge available directly rather than lose it. Gone: already settled (a settled
            // reservation is deleted), so this is a retry and there is nothing to do.
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT organization_id, trial_micros, regular_micros, state FROM reservations WHERE request_id = ?"),
                    arguments: [requestID])
            else {
                return Settlement(charged: .zero, fee: .zero, applied: false)
            }
            let now = WallClock.nowMs()
            let org: String = row[0]
            let isOpen = (row[3] as String) == "open"
            var trial: Int64 = isOpen ? row[1] : 0
            var regular: Int64 = isOpen ? row[2] : 0
            for (kind, amount) in [(LedgerEntryKind.settle, cost.value), (.fee, fee.value)] where amount > 0 {
                // The reservation pays first (its trial part first); beyond it, available pays (the overage).
                let fromTrial = min(amount, trial)
                trial -= fromTrial
                let fromRegular = min(amount - fromTrial, regular)
                regular -= fromRegular
                let over = amount - fromTrial - fromRegular
                let overTrial = over > 0 ? min(over, max(try Self.balance(db, organizationID: org).trial.value, 0)) : 0
                try Self.apply(
                    db, organizationID: org, kind: kind, regular: -(over - overTrial), trial: -overTrial,
                    reserved: -(fromTrial + fromRegular), requestID: requestID, reason: over > 0 ? "overage" : nil, now: now)
            }
            if trial + regular > 0 {
                try Self.apply(
                    db, organizationID: org, kind: .release, regular: regular, trial: trial, reserved: -(trial + regular),
                    requestID: requestID, reason: "unused part of the reservation", now: now)
            }
            try db.cachedStatement(sql: "DELETE FROM reservations WHERE request_id = ?").execute(arguments: [requestID])
            return Settlement(charged: cost, fee: fee, applied: true)
        }
    }

    public func release(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool {
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            // The request itself gives up: no settlement follows, so the reservation goes (its ledger entries stay).
            return try Self.releaseOpen(db, requestID: requestID, reason: reason, keepForLateSettlement: false, now: WallClock.nowMs())
        }
    }

    /// Returns an open reservation's credits. `keepForLateSettlement`: the sweeper returns a reservation whose
    /// request may still be running, and keeps it as `released` so that a settlement arriving later still charges.
    static func releaseOpen(_ db: Database, requestID: String, reason: String, keepForLateSettlement: Bool, now: Int64) throws -> Bool {
        guard let row = try Row.fetchOne(openReservation(db), arguments: [requestID]) else { return false }
        let trial: Int64 = row[1]
        let regular: Int64 = row[2]
        try apply(
            db, organizationID: row[0], kind: .release, regular: regular, trial: trial, reserved: -(trial + regular),
            requestID: requestID, reason: reason, now: now)
        let sql =
            keepForLateSettlement
            ? "UPDATE reservations SET state = 'released' WHERE request_id = ?" : "DELETE FROM reservations WHERE request_id = ?"
        try db.cachedStatement(sql: sql).execute(arguments: [requestID])
        return true
    }

    public func chargeFee(organizationID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        guard fee.value > 0 || record != nil else { return }
        try await writes.write { db in
            if let record { try Self.insertUsage(db, [record]) }
            guard fee.value > 0 else { return }
            let now = WallClock.nowMs()
            try Self.ensureAccount(db, organizationID: organizationID, now: now)
            let balance = try Self.balance(db, organizationID: organizationID)
            let fromTrial = min(fee.value, max(balance.trial.value, 0))
            try Self.apply(
                db, organizationID: organizationID, kind: .fee, regular: -(fee.value - fromTrial), trial: -fromTrial,
                requestID: requestID, reason: "byok fee", now: now)
        }
    }

    public func ledgerEntries(organizationID: String, limit: Int) async throws -> [LedgerEntry] {
        try await pool.read { db in
            try Self.newestRows(db, of: "ledger_entries", orderedBy: "id DESC", organizationID: organizationID, limit: limit).map { row in
                LedgerEntry(
                    id: row["id"], organizationID: row["organization_id"], kind: LedgerEntryKind(rawValue: row["kind"]) ?? .adjustment,
                    regularDelta: MicroCredits(row["regular_delta_micros"]), trialDelta: MicroCredits(row["trial_delta_micros"]),
                    reservedDelta: MicroCredits(row["reserved_delta_micros"]), availableAfter: MicroCredits(row["available_after_micros"]),
                    reservedAfter: MicroCredits(row["reserved_after_micros"]), requestID: row["request_id"], reason: row["reason"],
                    createdAt: row["created_at"])
            }
        }
    }
}
