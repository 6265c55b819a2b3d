import KeygateCore
import KeygateStore
import Logging
import PostgresNIO

/// The ledger's hot path batched (issue 15): every reservation, and every settlement, waiting at a moment in this
/// process goes to PostgreSQL as ONE statement calling `keygate_reserve_batch` / `keygate_settle_batch` (migration 3),
/// committed on its own with synchronous commit as configured (on by default). Why: a transaction holds the
/// organisation's row lock until its commit is flushed, so one statement per request caps a busy organisation at a
/// few hundred requests a second across all replicas; one commit per batch shares that flush.
///
/// What stays as without batching: each request gets its own answer, computed in arrival order against the
/// running balance (a 402 only when the requests ahead of it left too little, never because of the batch); a
/// settlement's usage record is written in the same statement (a data-modifying CTE), so a charge never exists
/// without its record; nothing is answered before its commit. If PostgreSQL refuses a batch as a whole (a
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
        return try await reservations.submit(pending) { [self] batch in await reserveBatch(batch) }
    }

    public func settle(requestID: String, cost: MicroCredits, fee: MicroCredits, record: UsageRecord?) async throws -> Settlement {
        guard batchesLedgerWrites else { return try await settleAlone(requestID: requestID, cost: cost, fee: fee, record: record) }
        let pending = PendingSettlement(requestID: requestID, cost: cost, fee: fee, record: record)
        return try await settlements.submit(pending) { [self] batch in await settleBatch(batch) }
    }

    func reserveBatch(_ batch: [PendingReservation]) async -> [Result<ReservationOutcome, any Error>] {
        // By organisation (then arrival), so that the function reads and writes each account once. Locks are taken
        // by the function itself in the database's order, whatever this order is.
        let order = batch.indices.sorted { (batch[$0].organizationID, $0) < (batch[$1].organizationID, $1) }
        let sorted = order.map { batch[$0] }
        let query: PostgresQuery = """
            SELECT o_outcome, o_from_trial, o_regular, o_trial, o_trial_expires_at, o_reserved FROM keygate_reserve_batch(
              \(sorted.map(\.organizationID)), \(sorted.map(\.requestID)), \(sorted.map(\.amount)), \(sorted.map(\.leaseExpiresAt)),
              \(sorted.map(\.instanceID)), \(WallClock.nowMs()))
            """
        do {
            let rows = try await client.withConnection { connection in try await connection.query(query, logger: logger).collect() }
            guard rows.count == batch.count else {
                throw StoreError.unavailable("keygate_reserve_batch answered \(rows.count) of \(batch.count) reservations")
            }
            var answers = [Result<ReservationOutcome, any Error>](repeating: .failure(StoreError.unavailable("no answer")), count: batch.count)
            for (position, row) in rows.enumerated() {
                let (outcome, fromTrial, regular, trial, expiry, reserved) = try row.decode((String, Int64, Int64, Int64, Int64?, Int64).self)
                let pending = sorted[position]
                switch outcome {
                case "reserved":
                    answers[order[position]] = .success(.reserved(trial: MicroCredits(fromTrial), regular: MicroCredits(pending.amount - fromTrial)))
                case "insufficient":
                    let balance = CreditBalance(
                        regular: MicroCredits(regular), trial: MicroCredits(trial), trialExpiresAt: expiry, reserved: MicroCredits(reserved))
                    answers[order[position]] = .success(.insufficient(balance))
                default:
                    answers[order[position]] = .failure(StoreError.duplicate("reservation for request '\(pending.requestID)'"))
                }
            }
            return answers
        } catch {
            guard Self.isRefusedStatement(error) else { return batch.map { _ in .failure(Self.storeError(error, url: url)) } }
            logger.warning(
                "a batch of reservations was refused; each runs alone",
                metadata: ["count": "\(batch.count)", "error": "\(Self.storeError(error, url: url))"])
            var answers: [Result<ReservationOutcome, any Error>] = []
            for pending in batch {
                answers.append(
                    await Result(awaiting: {
                        try await reserveAlone(
                            organizationID: pending.organizationID, requestID: pending.requestID, amount: MicroCredits(pending.amount),
                            instanceID: pending.instanceID, leaseExpiresAt: pending.leaseExpiresAt)
                    }))
            }
            return answers
        }
    }

    func settleBatch(_ batch: [PendingSettlement]) async -> [Result<Settlement, any Error>] {
        let records = batch.compactMap(\.record)
        do {
            let settled: Set<Int>
            if records.contains(where: { $0.byokKeyID != nil }) {
                // A record that moves a BYOK key's last use locks that key first (in id order, as the usage writer does),
                // so this batch is a transaction of three statements rather than one.
                settled = try await client.withTransaction(logger: logger) { connection in
                    try await Self.writeUsageRecords(records, on: connection, logger: logger)
                    return try await Self.settleRows(connection.query(Self.settleBatchQuery(batch, records: []), logger: logger))
                }
            } else {
                settled = try await client.withConnection { connection in
                    try await Self.settleRows(connection.query(Self.settleBatchQuery(batch, records: records), logger: logger))
                }
            }
            return batch.enumerated().map { index, pending in
                .success(
                    settled.contains(index + 1)
                        ? Settlement(charged: pending.cost, fee: pending.fee, applied: true) : Settlement(charged: .zero, fee: .zero, applied: false))
            }
        } catch {
            guard Self.isRefusedStatement(error) else { return batch.map { _ in .failure(Self.storeError(error, url: url)) } }
            logger.warning(
                "a batch of settlements was refused; each runs alone",
                metadata: ["count": "\(batch.count)", "error": "\(Self.storeError(error, url: url))"])
            var answers: [Result<Settlement, any Error>] = []
            for pending in batch {
                answers.append(
                    await Result(awaiting: {
                        try await settleAlone(requestID: pending.requestID, cost: pending.cost, fee: pending.fee, record: pending.record)
                    }))
            }
            return answers
        }
    }

    /// The positions (1-based, as the function numbers them) of the settlements the batch applied.
    private static func settleRows(_ rows: PostgresRowSequence) async throws -> Set<Int> {
        var settled = Set<Int>()
        for try await index in rows.decode(Int32.self) { settled.insert(Int(index)) }
        return settled
    }

    /// One statement: the records (a data-modifying CTE, so in the same transaction and before any lock of the
    /// ledger), then the function. PostgreSQL runs a CTE's `INSERT` whether or not the query reads its rows.
    private static func settleBatchQuery(_ batch: [PendingSettlement], records: [UsageRecord]) throws -> PostgresQuery {
        var binds = PostgresBindings(capacity: 4 + records.count * 22)
        var sql = ""
        if !records.isEmpty {
            let insert = try insertUsage(records.sorted { $0.requestID < $1.requestID }[...])
            sql = "WITH recorded AS (\(insert.sql)) "
            binds = insert.binds
        }
        let first = binds.count + 1
        binds.append(batch.map(\.requestID))
        binds.append(batch.map(\.cost.value))
        binds.append(batch.map(\.fee.value))
        binds.append(WallClock.nowMs())
        sql += "SELECT o_index FROM keygate_settle_batch($\(first), $\(first + 1), $\(first + 2), $\(first + 3))"
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
