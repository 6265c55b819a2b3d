import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// The ledger's hot path batched (issue 15): every settlement, BYOK fee and reservation waiting at a moment in this
/// process go to PostgreSQL as ONE statement calling `keygate_ledger_batch` (migration 3), committed on its own with
/// synchronous commit as the server has it (on by default). Why: a transaction holds the organisation's row lock
/// until its commit is flushed, so statements per request cap a busy organisation at a few hundred requests a second
/// across all replicas; one commit per batch shares that flush among everything waiting.
///
/// What stays as without batching: each request gets its own answer, the one a serial run of the waiting requests
/// gives (settlements first, then fees, then reservations in arrival order, each against the running balance: a 402 only
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

    struct PendingFee: Sendable {
        var organizationID: String
        var requestID: String
        var fee: MicroCredits
        var record: UsageRecord?
    }

    /// One ledger write waiting for the next batch.
    enum LedgerWrite: Sendable {
        case reserve(PendingReservation)
        case settle(PendingSettlement)
        case fee(PendingFee)

        var requestID: String {
            switch self {
            case .reserve(let pending): pending.requestID
            case .settle(let pending): pending.requestID
            case .fee(let pending): pending.requestID
            }
        }

        var record: UsageRecord? {
            switch self {
            case .reserve: nil
            case .settle(let pending): pending.record
            case .fee(let pending): pending.record
            }
        }
    }

    enum LedgerAnswer: Sendable {
        case reservation(ReservationOutcome)
        case settlement(Settlement)
        case feeCharged
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

    /// A BYOK request's fee, charged from available with its usage record (a record alone when there is no fee).
    public func chargeFee(organizationID: String, requestID: String, fee: MicroCredits, record: UsageRecord?) async throws {
        guard batchesLedgerWrites, fee.value > 0 else {
            return try await chargeFeeAlone(organizationID: organizationID, requestID: requestID, fee: fee, record: record)
        }
        let pending = PendingFee(organizationID: organizationID, requestID: requestID, fee: fee, record: record)
        guard case .feeCharged = try await ledgerWrites.submit(.fee(pending), run: { [self] in await writeBatch($0) }) else {
            throw StoreError.unavailable("a fee was answered as another write")
        }
    }

    /// Writes a batch as one statement: its settlements, then its BYOK fees (with their usage records), then its
    /// reservations. Each write gets its answer at its own position.
    func writeBatch(_ batch: [LedgerWrite]) async -> [Result<LedgerAnswer, any Error>] {
        var settlements: [(position: Int, pending: PendingSettlement)] = []
        var fees: [(position: Int, pending: PendingFee)] = []
        var reservations: [(position: Int, pending: PendingReservation)] = []
        for (position, write) in batch.enumerated() {
            switch write {
            case .settle(let pending): settlements.append((position, pending))
            case .fee(let pending): fees.append((position, pending))
            case .reserve(let pending): reservations.append((position, pending))
            }
        }
        // Fees and reservations by organisation (then arrival), so that the functions read and write each account
        // once. Locks are taken by the function in the database's order, whatever this order is.
        fees.sort { ($0.pending.organizationID, $0.position) < ($1.pending.organizationID, $1.position) }
        reservations.sort { ($0.pending.organizationID, $0.position) < ($1.pending.organizationID, $1.position) }
        let records = batch.compactMap(\.record)
        do {
            let rows: [PostgresRow]
            if records.contains(where: { $0.byokKeyID != nil }) {
                // A record that moves a BYOK key's last use locks that key first (in id order, as the usage writer does),
                // so this batch is a transaction of a few statements rather than one.
                rows = try await client.withTransaction(logger: logger) { connection in
                    try await Self.writeUsageRecords(records, on: connection, logger: logger)
                    let query = try Self.ledgerBatchQuery(
                        settlements.map(\.pending), fees.map(\.pending), reservations.map(\.pending), records: [])
                    return try await connection.query(query, logger: logger).collect()
                }
            } else {
                let query = try Self.ledgerBatchQuery(settlements.map(\.pending), fees.map(\.pending), reservations.map(\.pending), records: records)
                rows = try await client.withConnection { connection in try await connection.query(query, logger: logger).collect() }
            }
            var answers = [Result<LedgerAnswer, any Error>](repeating: .failure(StoreError.unavailable("no answer")), count: batch.count)
            // A settlement the function does not name had nothing left to settle: a retry.
            for (position, _) in settlements {
                answers[position] = .success(.settlement(Settlement(charged: .zero, fee: .zero, applied: false)))
            }
            var answered = 0
            for row in rows {
                let (kind, index, outcome, fromTrial, regular, trial, expiry, reserved) = try row.decode(
                    (String, Int32, String?, Int64?, Int64?, Int64?, Int64?, Int64?).self)
                let slot = Int(index) - 1
                switch kind {
                case "settle":
                    let (position, pending) = settlements[slot]
                    answers[position] = .success(.settlement(Settlement(charged: pending.cost, fee: pending.fee, applied: true)))
                    continue
                case "fee":
                    answers[fees[slot].position] = .success(.feeCharged)
                    answered += 1
                    continue
                default:
                    answered += 1
                }
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
            guard answered == reservations.count + fees.count else {
                throw StoreError.unavailable("keygate_ledger_batch answered \(answered) of \(reservations.count + fees.count) reservations and fees")
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
            return .reservation(
                try await reserveAlone(
                    organizationID: p.organizationID, requestID: p.requestID, amount: MicroCredits(p.amount), instanceID: p.instanceID,
                    leaseExpiresAt: p.leaseExpiresAt))
        case .settle(let p):
            return .settlement(try await settleAlone(requestID: p.requestID, cost: p.cost, fee: p.fee, record: p.record))
        case .fee(let p):
            try await chargeFeeAlone(organizationID: p.organizationID, requestID: p.requestID, fee: p.fee, record: p.record)
            return .feeCharged
        }
    }

    /// One statement: the records (a data-modifying CTE, so in the same transaction; PostgreSQL runs a CTE's
    /// `INSERT` whether or not the query reads its rows), then the function.
    private static func ledgerBatchQuery(
        _ settlements: [PendingSettlement], _ fees: [PendingFee], _ reservations: [PendingReservation], records: [UsageRecord]
    ) throws -> PostgresQuery {
        var binds = PostgresBindings(capacity: 12 + records.count * 23)
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
        binds.append(fees.map(\.organizationID))
        binds.append(fees.map(\.requestID))
        binds.append(fees.map(\.fee.value))
        binds.append(reservations.map(\.organizationID))
        binds.append(reservations.map(\.requestID))
        binds.append(reservations.map(\.amount))
        binds.append(reservations.map(\.leaseExpiresAt))
        binds.append(reservations.map(\.instanceID))
        binds.append(WallClock.nowMs())
        sql += "SELECT o_kind, o_index, o_outcome, o_from_trial, o_regular, o_trial, o_trial_expires_at, o_reserved FROM keygate_ledger_batch("
        sql += (first..<first + 12).map { "$\($0)" }.joined(separator: ", ") + ")"
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
