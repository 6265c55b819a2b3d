import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// The credit ledger on PostgreSQL. Every method is one transaction (READ COMMITTED) that serializes on the
/// organisation's `credit_accounts` row, in this process and in every other replica:
/// - `reserve` is ONE conditional statement: an `UPDATE … WHERE trial + regular >= amount` that moves the amount
///   to reserved (trial first) and, through data-modifying CTEs, writes the reservation row and the ledger entry.
///   No row back means insufficient funds. The split comes from a `FOR UPDATE` subquery on the same row, so under
///   concurrency the split and the update always see the same (latest, locked) version of the row.
/// - every other change first locks the account (`SELECT … FOR UPDATE`, or an upsert that returns the locked row
///   where the account may not exist yet), computes its entries from that balance, then writes one `UPDATE` and
///   one multi-row `INSERT` of entries whose `available_after` / `reserved_after` are the running balance.
/// - a reservation is locked (`FOR UPDATE`) before the account, everywhere: a settlement racing its retry or the
///   sweeper waits, then finds the row gone or no longer open (no double charge), and the lock order is always
///   reservation(s) → account(s) (accounts by id), so concurrent writers cannot deadlock.
/// A usage record is `INSERT … ON CONFLICT (request_id) DO NOTHING` in the charge's own transaction.
/// `reserve` and `settle` normally go through a `PostgresBatcher` (`PostgresStore+LedgerBatches`): the same
/// computation, for every request waiting at a moment, in one function call; the one-request transactions here
/// remain the path without batching and the fallback when the database refuses a batch.
extension PostgresStore {
    /// One balance change to write as a ledger entry.
    struct LedgerChange: Sendable {
        var kind: LedgerEntryKind
        var regular: Int64 = 0
        var trial: Int64 = 0
        var reserved: Int64 = 0
        var requestID: String?
        var reason: String?
    }

    static let balanceColumns = "regular_micros, trial_micros, trial_expires_at, reserved_micros"

    static func balance(_ row: PostgresRow) throws -> CreditBalance {
        let (regular, trial, expiry, reserved) = try row.decode((Int64, Int64, Int64?, Int64).self)
        return CreditBalance(regular: MicroCredits(regular), trial: MicroCredits(trial), trialExpiresAt: expiry, reserved: MicroCredits(reserved))
    }

    /// The account's balance, its row locked until the transaction ends; nil if the organisation has no account.
    static func lockAccount(_ connection: PostgresConnection, organizationID: String, logger: Logger) async throws -> CreditBalance? {
        let rows = try await connection.query(
            "SELECT \(unescaped: balanceColumns) FROM credit_accounts WHERE organization_id = \(organizationID) FOR UPDATE",
            logger: logger
        ).collect()
        return try rows.first.map(balance)
    }

    /// Makes the account if it is missing and returns its balance, locked: the upsert's no-op update takes the
    /// row lock and `RETURNING` gives the latest version (for grants and fees, which may come first).
    static func ensureAndLockAccount(
        _ connection: PostgresConnection, organizationID: String, now: Int64, logger: Logger
    ) async throws -> CreditBalance {
        let rows = try await connection.query(
            """
            INSERT INTO credit_accounts (organization_id, updated_at) VALUES (\(organizationID), \(now))
            ON CONFLICT (organization_id) DO UPDATE SET updated_at = credit_accounts.updated_at
            RETURNING \(unescaped: balanceColumns)
            """, logger: logger
        ).collect()
        guard let row = rows.first else { throw StoreError.invalid("organisation \(organizationID) has no credit account") }
        return try balance(row)
    }

    /// Applies `changes`, in order, to an account whose row this transaction holds locked at balance `before`:
    /// one `UPDATE` by their sum and one `INSERT` of their entries, each carrying the balance right after it.
    /// Returns the balance after the last one.
    @discardableResult
    static func apply(
        _ changes: [LedgerChange], organizationID: String, before: CreditBalance, now: Int64, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> CreditBalance {
        guard !changes.isEmpty else { return before }
        var running = before
        var sql = """
            INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
              available_after_micros, reserved_after_micros, request_id, reason, created_at) VALUES
            """
        var binds = PostgresBindings(capacity: changes.count * 10)
        for (index, change) in changes.enumerated() {
            running.regular = MicroCredits(running.regular.value + change.regular)
            running.trial = MicroCredits(running.trial.value + change.trial)
            running.reserved = MicroCredits(running.reserved.value + change.reserved)
            let first = binds.count + 1
            binds.append(organizationID)
            binds.append(change.kind.rawValue)
            binds.append(change.regular)
            binds.append(change.trial)
            binds.append(change.reserved)
            binds.append(running.available.value)
            binds.append(running.reserved.value)
            binds.append(change.requestID)
            binds.append(change.reason)
            binds.append(now)
            sql += (index == 0 ? "\n" : ",\n") + "(" + (first..<first + 10).map { "$\($0)" }.joined(separator: ", ") + ")"
        }
        let sum = changes.reduce(into: (regular: Int64(0), trial: Int64(0), reserved: Int64(0))) {
            $0.regular += $1.regular
            $0.trial += $1.trial
            $0.reserved += $1.reserved
        }
        let rows = try await connection.query(
            """
            UPDATE credit_accounts SET regular_micros = regular_micros + \(sum.regular), trial_micros = trial_micros + \(sum.trial),
              reserved_micros = reserved_micros + \(sum.reserved), updated_at = \(now)
            WHERE organization_id = \(organizationID)
            RETURNING \(unescaped: balanceColumns)
            """, logger: logger
        ).collect()
        guard let row = rows.first else { throw StoreError.invalid("organisation \(organizationID) has no credit account") }
        let after = try balance(row)
        guard after == running else {
            // Only possible if the row was not locked by this transaction: refuse rather than write wrong entries.
            throw StoreError.unavailable("the credit account of \(organizationID) changed under a lock")
        }
        _ = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).collect()
        return after
    }

    public func balance(organizationID: String) async throws -> CreditBalance {
        try await read { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.balanceColumns) FROM credit_accounts WHERE organization_id = \(organizationID)", logger: logger
            ).collect()
            return try rows.first.map(Self.balance) ?? CreditBalance()
        }
    }

    public func addCredits(
        organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?, trialExpiresAt: Int64?
    ) async throws -> CreditBalance {
        try LedgerEntryKind.checkAddedByHand(kind, amount: amount)
        return try await transaction { connection in
            try await Self.grant(
                on: connection, organizationID: organizationID, amount: amount, kind: kind, reason: reason, trialExpiresAt: trialExpiresAt,
                now: WallClock.nowMs(), logger: logger)
        }
    }

    /// Credits added by hand (a grant, purchase, adjustment, trial grant or refund) inside the caller's transaction.
    static func grant(
        on connection: PostgresConnection, organizationID: String, amount: MicroCredits, kind: LedgerEntryKind, reason: String?,
        trialExpiresAt: Int64?, now: Int64, logger: Logger
    ) async throws -> CreditBalance {
        try LedgerEntryKind.checkAddedByHand(kind, amount: amount)
        var before = try await ensureAndLockAccount(connection, organizationID: organizationID, now: now, logger: logger)
        var change = LedgerChange(kind: kind, reason: reason)
        if kind == .trialGrant {
            _ = try await connection.query(
                "UPDATE credit_accounts SET trial_expires_at = \(trialExpiresAt) WHERE organization_id = \(organizationID)", logger: logger
            ).collect()
            before.trialExpiresAt = trialExpiresAt
            change.trial = amount.value
        } else {
            change.regular = amount.value
        }
        return try await apply([change], organizationID: organizationID, before: before, now: now, on: connection, logger: logger)
    }

    /// One reservation in a transaction of its own: the path without batching, and the answer for each request
    /// of a batch that the database refused as a whole.
    func reserveAlone(
        organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> ReservationOutcome {
        let x = amount.value
        do {
            return try await transaction { connection in
                let now = WallClock.nowMs()
                // The guard itself: the move happens only if trial + regular still cover the amount. `s` locks the
                // row first, so `from_trial` and the update are computed from the same, latest version of it.
                let rows = try await connection.query(
                    """
                    WITH held AS (
                      UPDATE credit_accounts a SET trial_micros = a.trial_micros - s.from_trial,
                        regular_micros = a.regular_micros - (\(x) - s.from_trial), reserved_micros = a.reserved_micros + \(x),
                        updated_at = \(now)
                      FROM (SELECT organization_id, LEAST(GREATEST(trial_micros, 0), \(x)) AS from_trial
                            FROM credit_accounts WHERE organization_id = \(organizationID) FOR UPDATE) s
                      WHERE a.organization_id = s.organization_id AND GREATEST(a.trial_micros, 0) + a.regular_micros >= \(x)
                      RETURNING a.organization_id, s.from_trial, a.regular_micros, a.trial_micros, a.trial_expires_at, a.reserved_micros
                    ), reservation AS (
                      INSERT INTO reservations (request_id, organization_id, trial_micros, regular_micros, state, instance_id,
                        lease_expires_at, created_at)
                      SELECT \(requestID), organization_id, from_trial, \(x) - from_trial, 'open', \(instanceID), \(leaseExpiresAt), \(now)
                      FROM held
                    ), entry AS (
                      INSERT INTO ledger_entries (organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                        available_after_micros, reserved_after_micros, request_id, reason, created_at)
                      SELECT organization_id, \(LedgerEntryKind.reserve.rawValue), -(\(x) - from_trial), -from_trial, \(x),
                        regular_micros + trial_micros, reserved_micros, \(requestID), NULL, \(now)
                      FROM held
                    )
                    SELECT from_trial FROM held
                    """, logger: logger
                ).collect()
                guard let row = rows.first else {
                    // Nothing held: a request id that already has a reservation is a duplicate whatever the
                    // balance, as in `keygate_ledger_batch` (and on SQLite), not a 402.
                    let held = try await connection.query(
                        "SELECT 1 FROM reservations WHERE request_id = \(requestID)", logger: logger
                    ).collect()
                    guard held.isEmpty else { throw StoreError.duplicate("reservation for request '\(requestID)'") }
                    let balance = try await connection.query(
                        "SELECT \(unescaped: Self.balanceColumns) FROM credit_accounts WHERE organization_id = \(organizationID)",
                        logger: logger
                    ).collect()
                    return .insufficient(try balance.first.map(Self.balance) ?? CreditBalance())
                }
                let fromTrial = try row.decode(Int64.self)
                return .reserved(trial: MicroCredits(fromTrial), regular: MicroCredits(x - fromTrial))
            }
        } catch StoreError.duplicate {
            throw StoreError.duplicate("reservation for request '\(requestID)'")
        }
    }

    /// One settlement in a transaction of its own (see `reserveAlone`).
    func settleAlone(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        try await transaction { connection in
            if let record { try await Self.writeUsageRecord(record, on: connection, logger: logger) }
            // Open: charge it. Released (the sweeper returned it, e.g. the request outlived its lease): the work
            // was still done, so charge available directly rather than lose it. Gone: already settled (a settled
            // reservation is deleted), so this is a retry and there is nothing to do.
            let rows = try await connection.query(
                "SELECT organization_id, trial_micros, regular_micros, state FROM reservations WHERE request_id = \(requestID) FOR UPDATE",
                logger: logger
            ).collect()
            guard let row = rows.first else { return Settlement(charged: .zero, fee: .zero, applied: false) }
            let (org, reservedTrial, reservedRegular, state) = try row.decode((String, Int64, Int64, String).self)
            let now = WallClock.nowMs()
            guard let before = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                throw StoreError.invalid("organisation \(org) has no credit account")
            }
            let isOpen = state == "open"
            var trial = isOpen ? reservedTrial : 0
            var regular = isOpen ? reservedRegular : 0
            var running = before
            var changes: [LedgerChange] = []
            for (kind, amount) in [(LedgerEntryKind.settle, cost.value), (.fee, fee.value)] where amount > 0 {
                // The reservation pays first (its trial part first); beyond it, available pays (the overage).
                let fromTrial = min(amount, trial)
                trial -= fromTrial
                let fromRegular = min(amount - fromTrial, regular)
                regular -= fromRegular
                let over = amount - fromTrial - fromRegular
                let overTrial = over > 0 ? min(over, max(running.trial.value, 0)) : 0
                let change = LedgerChange(
                    kind: kind, regular: -(over - overTrial), trial: -overTrial, reserved: -(fromTrial + fromRegular), requestID: requestID,
                    reason: over > 0 ? "overage" : nil)
                running.regular = MicroCredits(running.regular.value + change.regular)
                running.trial = MicroCredits(running.trial.value + change.trial)
                running.reserved = MicroCredits(running.reserved.value + change.reserved)
                changes.append(change)
            }
            if trial + regular > 0 {
                changes.append(
                    LedgerChange(
                        kind: .release, regular: regular, trial: trial, reserved: -(trial + regular), requestID: requestID,
                        reason: "unused part of the reservation"))
            }
            try await Self.apply(changes, organizationID: org, before: before, now: now, on: connection, logger: logger)
            _ = try await connection.query("DELETE FROM reservations WHERE request_id = \(requestID)", logger: logger).collect()
            return Settlement(charged: cost, fee: fee, applied: true)
        }
    }

    public func release(requestID: String, reason: String, record: UsageRecord?) async throws -> Bool {
        try await transaction { connection in
            if let record { try await Self.writeUsageRecord(record, on: connection, logger: logger) }
            // The request itself gives up: no settlement follows, so the reservation goes (its ledger entries stay).
            let rows = try await connection.query(
                """
                SELECT organization_id, trial_micros, regular_micros FROM reservations
                WHERE request_id = \(requestID) AND state = 'open' FOR UPDATE
                """, logger: logger
            ).collect()
            guard let row = rows.first else { return false }
            let (org, trial, regular) = try row.decode((String, Int64, Int64).self)
            guard let before = try await Self.lockAccount(connection, organizationID: org, logger: logger) else {
                throw StoreError.invalid("organisation \(org) has no credit account")
            }
            try await Self.apply(
                [LedgerChange(kind: .release, regular: regular, trial: trial, reserved: -(trial + regular), requestID: requestID, reason: reason)],
                organizationID: org, before: before, now: WallClock.nowMs(), on: connection, logger: logger)
            _ = try await connection.query("DELETE FROM reservations WHERE request_id = \(requestID)", logger: logger).collect()
            return true
        }
    }

    /// One BYOK fee in a transaction of its own (see `reserveAlone`).
    func chargeFeeAlone(organizationID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        guard fee.value > 0 || record != nil else { return }
        try await transaction { connection in
            if let record { try await Self.writeUsageRecord(record, on: connection, logger: logger) }
            guard fee.value > 0 else { return }
            let now = WallClock.nowMs()
            let before = try await Self.ensureAndLockAccount(connection, organizationID: organizationID, now: now, logger: logger)
            let fromTrial = min(fee.value, max(before.trial.value, 0))
            try await Self.apply(
                [LedgerChange(kind: .fee, regular: -(fee.value - fromTrial), trial: -fromTrial, requestID: requestID, reason: "byok fee")],
                organizationID: organizationID, before: before, now: now, on: connection, logger: logger)
        }
    }

    public func ledgerEntries(organizationID: String, limit: Int) async throws -> [LedgerEntry] {
        try await read { connection in
            let rows = try await connection.query(
                """
                SELECT id, organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                  available_after_micros, reserved_after_micros, request_id, reason, created_at
                FROM ledger_entries WHERE organization_id = \(organizationID) ORDER BY id DESC LIMIT \(Int64(limit))
                """, logger: logger
            ).collect()
            return try rows.map { row in
                let (id, org, kind, regular, trial, reserved, available, reservedAfter, requestID, reason, createdAt) = try row.decode(
                    (Int64, String, String, Int64, Int64, Int64, Int64, Int64, String?, String?, Int64).self)
                return LedgerEntry(
                    id: id, organizationID: org, kind: LedgerEntryKind(rawValue: kind) ?? .adjustment, regularDelta: MicroCredits(regular),
                    trialDelta: MicroCredits(trial), reservedDelta: MicroCredits(reserved), availableAfter: MicroCredits(available),
                    reservedAfter: MicroCredits(reservedAfter), requestID: requestID, reason: reason, createdAt: createdAt)
            }
        }
    }

    /// A request's usage record, in the caller's transaction (twin of `SQLiteStore.insertUsage`): a retry's
    /// second copy is ignored, and the BYOK key that paid gets its last use.
    static func writeUsageRecord(_ r: UsageRecord, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            """
            INSERT INTO usage_records (request_id, organization_id, api_key_id, model, provider, byok, billing,
              input_tokens, output_tokens, cached_input_tokens, reasoning_tokens, tokens_estimated,
              cost_usd_picos, credits_charged_micros, fee_credits_micros, latency_ms, ttft_ms, stream, status, error_code, created_at,
              byok_key_id)
            VALUES (\(r.requestID), \(r.organizationID), \(r.apiKeyID), \(r.model), \(r.provider), \(r.byok), \(r.billing?.rawValue),
              \(r.inputTokens), \(r.outputTokens), \(r.cachedInputTokens), \(r.reasoningTokens), \(r.tokensEstimated),
              \(r.costUSD.value), \(r.creditsCharged.value), \(r.feeCredits.value), \(r.latencyMs), \(r.timeToFirstTokenMs), \(r.stream),
              \(Int32(clamping: r.status)), \(r.errorCode), \(r.createdAt), \(r.byokKeyID))
            ON CONFLICT (request_id) DO NOTHING
            """, logger: logger
        ).collect()
        if let keyID = r.byokKeyID {
            _ = try await connection.query(
                "UPDATE byok_keys SET last_used_at = GREATEST(coalesce(last_used_at, 0), \(r.createdAt)) WHERE id = \(keyID)", logger: logger
            ).collect()
        }
    }
}
