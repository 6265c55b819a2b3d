import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// The ledger's hot path batched (issue 15): every settlement and every reservation waiting at a moment in this
/// process go to PostgreSQL as ONE statement calling `keygate_ledger_batch` (migration 3), committed on its own with
/// synchronous commit as the server has it (on by default). Why: a transaction holds the organisation's row lock
/// until its commit is flushed, so statements per request cap a busy organisation at a few hundred requests a second
/// across all replicas; one commit per batch shares that flush among everything waiting.
///
/// What stays as without batching: each request gets its own answer, the one a serial run of the waiting requests
/// gives (settlements first, then reservations in arrival order, each against the running balance: a 402 only
/// when what was ahead of it left too little); a settlement's usage record is written in the same statement (a
/// data-modifying CTE), so a charge never exists without its record; nothing is answered before its commit. If PostgreSQL refuses a batch as a whole (a
/// deadlock, a duplicate request id raced in from another replica), each request runs alone through the
/// one-request transaction of `PostgresStore+Ledger`; if the database cannot be reached, each gets that error.
extension PostgresStore {
    struct PendingReservation: Sendable {
        var organizationID: String
        var requestID: String
        var amount: Int64
        var instanceID: String
        var leaseExpiresAt: Int64
    }

    struct PendingSettlement: Sendable {
        var requestID: String
        var cost: MicroCredits
        var fee: MicroCredits
        var record: UsageRecord?
    }

    /// One ledger write waiting for the next batch.
    enum LedgerWrite: Sendable {
        case reserve(PendingReservation)
        case settle(PendingSettlement)

        var requestID: String {
            switch self {
            case .reserve(let pending): pending.requestID
            case .settle(let pending): pending.requestID
            }
        }
    }

    enum LedgerAnswer: Sendable {
        case reservation(ReservationOutcome)
        case settlement(Settlement)
    }

    public func reserve(
        organizationID: String, requestID: String, amount: MicroCredits, instanceID: String, leaseExpiresAt: Int64
    ) async throws -> ReservationOutcome {
        guard batchesLedgerWrites else {
            return try await reserveAlone(
                organizationID: organizationID, requestID: requestID, amount: amount, instanceID: instanceID, leaseExpiresAt: leaseExpiresAt)
        }
        let pending = PendingReservation(
            organizationID: organizationID, requestID: requestID, amount: amount.value, instanceID: instanceID,
            leaseExpiresAt: leaseExpiresAt)
        guard case .reservation(let outcome) = try await ledgerWrites.submit(.reserve(pending), run: { [self] in await writeBatch($0) }) else {
            throw StoreError.unavailable("a reservation was answered as a settlement")
        }
        return outcome
    }

    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        guard batchesLedgerWrites else { return try await settleAlone(requestID: requestID, cost: cost, fee: fee, record: record) }
        let pending = PendingSettlement(requestID: requestID, cost: cost, fee: fee, record: record)
        guard case .settlement(let settlement) = try await ledgerWrites.submit(.settle(pending), run: { [self] in await writeBatch($0) }) else {
            throw StoreError.unavailable("a settlement was answered as a reservation")
        }
        return settlement
    }

    /// Writes a batch as one statement: its settlements (with their usage records), then its reservations. Each
    /// write gets its answer at its own position.
    func writeBatch(_ batch: [LedgerWrite]) async -> [Result<LedgerAnswer, any Error>] {
        var settlements: [(position: Int, pending: PendingSettlement)] = []
        var reservations: [(position: Int, pending: PendingReservation)] = []
        for (position, write) in batch.enumerated() {
            switch write {
            case .settle(let pending): settlements.append((position, pending))
            case .reserve(let pending): reservations.append((position, pending))
            }
        }
        // Reservations by organisation (then arrival), so that the function reads and writes each account once.
        // Locks are taken by the function in the database's order, whatever this order is.
        reservations.sort { ($0.pending.organizationID, $0.position) < ($1.pending.organizationID, $1.position) }
        let records = settlements.compactMap(\.pending.record)
        do {
            let rows: [PostgresRow]
            if records.contains(where: { $0.byokKeyID != nil }) {
                // A record that moves a BYOK key's last use locks that key first (in id order, as the usage writer does),
                // so this batch is a transaction of a few statements rather than one.
                rows = try await client.withTransaction(logger: logger) { connection in
                    try await Self.writeUsageRecords(records, on: connection, logger: logger)
                    let query = try Self.ledgerBatchQuery(settlements.map(\.pending), reservations.map(\.pending), records: [])
                    return try await connection.query(query, logger: logger).collect()
                }
            } else {
                let query = try Self.ledgerBatchQuery(settlements.map(\.pending), reservations.map(\.pending), records: records)
                rows = try await client.withConnection { connection in try await connection.query(query, logger: logger).collect() }
            }
            var answers = [Result<LedgerAnswer, any Error>](repeating: .failure(StoreError.unavailable("no answer")), count: batch.count)
            // A settlement the function does not name had nothing left to settle: a retry.
            for (position, _) in settlements {
                answers[position] = .success(.settlement(Settlement(charged: .zero, fee: .zero, applied: false)))
            }
            var reservationsAnswered = 0
            for row in rows {
                let (isSettlement, index, outcome, fromTrial, regular, trial, expiry, reserved) = try row.decode(
                    (Bool, Int32, String?, Int64?, Int64?, Int64?, Int64?, Int64?).self)
                let slot = Int(index) - 1
                if isSettlement {
                    let (position, pending) = settlements[slot]
                    answers[position] = .success(.settlement(Settlement(charged: pending.cost, fee: pending.fee, applied: true)))
                    continue
                }
                reservationsAnswered += 1
                let (position, pending) = reservations[slot]
                switch outcome {
                case "reserved":
                    let fromTrial = fromTrial ?? 0
                    answers[position] = .success(
                        .reservation(.reserved(trial: MicroCredits(fromTrial), regular: MicroCredits(pending.amount - fromTrial))))
                case "insufficient":
                    let balance = CreditBalance(
                        regular: MicroCredits(regular ?? 0), trial: MicroCredits(trial ?? 0), trialExpiresAt: expiry,
                        reserved: MicroCredits(reserved ?? 0))
                    answers[position] = .success(.reservation(.insufficient(balance)))
                default:
                    answers[position] = .failure(StoreError.duplicate("reservation for request '\(pending.requestID)'"))
                }
            }
            guard reservationsAnswered == reservations.count else {
                throw StoreError.unavailable("keygate_ledger_batch answered \(reservationsAnswered) of \(reservations.count) reservations")
            }
            return answers
        } catch {
            guard Self.isRefusedStatement(error) else { return batch.map { _ in .failure(Self.storeError(error, url: url)) } }
            logger.warning(
                "a batch of ledger writes was refused; each runs alone",
                metadata: ["count": "\(batch.count)", "error": "\(Self.storeError(error, url: url))"])
            var answers: [Result<LedgerAnswer, any Error>] = []
            for write in batch { answers.append(await Result(awaiting: { try await writeAlone(write) })) }
            return answers
        }
    }

    /// A write in a transaction of its own (the fallback of a refused batch).
    func writeAlone(_ write: LedgerWrite) async throws -> LedgerAnswer {
        switch write {
        case .reserve(let p):
            .reservation(
                try await reserveAlone(
                    organizationID: p.organizationID, requestID: p.requestID, amount: MicroCredits(p.amount), instanceID: p.instanceID,
                    leaseExpiresAt: p.leaseExpiresAt))
        case .settle(let p):
            .settlement(try await settleAlone(requestID: p.requestID, cost: p.cost, fee: p.fee, record: p.record))
        }
    }

    /// One statement: the records (a data-modifying CTE, so in the same transaction; PostgreSQL runs a CTE's
    /// `INSERT` whether or not the query reads its rows), then the function.
    private static func ledgerBatchQuery(
        _ settlements: [PendingSettlement], _ reservations: [PendingReservation], records: [UsageRecord]
    ) throws -> PostgresQuery {
        var binds = PostgresBindings(capacity: 9 + records.count * 22)
        var sql = ""
        if !records.isEmpty {
            let insert = try insertUsage(records.sorted { $0.requestID < $1.requestID }[...])
            sql = "WITH recorded AS (\(insert.sql)) "
            binds = insert.binds
        }
        let first = binds.count + 1
        binds.append(settlements.map(\.requestID))
        binds.append(settlements.map(\.cost.value))
        binds.append(settlements.map(\.fee.value))
        binds.append(reservations.map(\.organizationID))
        binds.append(reservations.map(\.requestID))
        binds.append(reservations.map(\.amount))
        binds.append(reservations.map(\.leaseExpiresAt))
        binds.append(reservations.map(\.instanceID))
        binds.append(WallClock.nowMs())
        sql += "SELECT o_settled, o_index, o_outcome, o_from_trial, o_regular, o_trial, o_trial_expires_at, o_reserved FROM keygate_ledger_batch("
        sql += (first..<first + 9).map { "$\($0)" }.joined(separator: ", ") + ")"
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// Whether PostgreSQL itself refused a statement (it answered with a SQLSTATE), as opposed to not answering.
    static func isRefusedStatement(_ error: any Error) -> Bool {
        let psql = (error as? PSQLError) ?? ((error as? PostgresTransactionError)?.closureError as? PSQLError)
        return psql?.serverInfo?[.sqlState] != nil
    }
}

extension Result where Failure == any Error {
    fileprivate init(awaiting body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
