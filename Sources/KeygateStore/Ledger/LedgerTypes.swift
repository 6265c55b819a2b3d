import KeygateCore

/// What a ledger entry records. Every change of a balance is exactly one entry (SPEC §5).
public enum LedgerEntryKind: String, Sendable, Hashable, CaseIterable {
    case trialGrant = "trial_grant"
    case purchase
    case grant
    case adjustment
    /// Available → reserved, at the start of a credit-billed request.
    case reserve
    /// Reserved (and, for an overage, available) → spent: the request's token cost.
    case settle
    /// Reserved → available: the part of a reservation a request did not use.
    case release
    /// A platform or BYOK fee.
    case fee
    /// Unspent trial credits at their expiry.
    case expiry
    /// Credits taken back for a refunded payment (negative).
    case refund
    /// Credits taken back when a payment is disputed (negative), or restored when the dispute is won.
    case dispute
}

extension LedgerEntryKind {
    /// What `LedgerStore.addCredits` accepts, the same on every backend: only the kinds added outside a request,
    /// with a positive amount (an adjustment may also be negative, never zero).
    public static func checkAddedByHand(_ kind: LedgerEntryKind, amount: MicroCredits) throws {
        guard [.grant, .purchase, .adjustment, .trialGrant, .refund].contains(kind) else {
            throw StoreError.invalid("'\(kind.rawValue)' entries are not added by hand")
        }
        guard amount.value > 0 || (kind == .adjustment && amount.value != 0) else {
            throw StoreError.invalid("the amount must be positive (an adjustment may be negative, not zero)")
        }
    }
}

/// One row of the append-only ledger. Deltas are signed µcredits; `…After` are the balances right after.
public struct LedgerEntry: Sendable, Hashable {
    public var id: Int64
    public var organizationID: String
    public var kind: LedgerEntryKind
    public var regularDelta: MicroCredits
    public var trialDelta: MicroCredits
    public var reservedDelta: MicroCredits
    /// Available (regular + trial) after the entry.
    public var availableAfter: MicroCredits
    public var reservedAfter: MicroCredits
    public var requestID: String?
    public var reason: String?
    public var createdAt: Int64

    public init(
        id: Int64, organizationID: String, kind: LedgerEntryKind, regularDelta: MicroCredits, trialDelta: MicroCredits,
        reservedDelta: MicroCredits, availableAfter: MicroCredits, reservedAfter: MicroCredits, requestID: String?, reason: String?,
        createdAt: Int64
    ) {
        self.id = id
        self.organizationID = organizationID
        self.kind = kind
        self.regularDelta = regularDelta
        self.trialDelta = trialDelta
        self.reservedDelta = reservedDelta
        self.availableAfter = availableAfter
        self.reservedAfter = reservedAfter
        self.requestID = requestID
        self.reason = reason
        self.createdAt = createdAt
    }

    /// The entry's effect on the total (available + reserved).
    public var totalDelta: MicroCredits { MicroCredits(regularDelta.value + trialDelta.value + reservedDelta.value) }
}

/// An organisation's balance (SPEC §5): available = regular + trial, total = available + reserved.
public struct CreditBalance: Sendable, Hashable {
    public var regular: MicroCredits
    public var trial: MicroCredits
    public var trialExpiresAt: Int64?
    public var reserved: MicroCredits

    public init(regular: MicroCredits = .zero, trial: MicroCredits = .zero, trialExpiresAt: Int64? = nil, reserved: MicroCredits = .zero) {
        self.regular = regular
        self.trial = trial
        self.trialExpiresAt = trialExpiresAt
        self.reserved = reserved
    }

    public var available: MicroCredits { MicroCredits(regular.value + trial.value) }
    public var total: MicroCredits { MicroCredits(available.value + reserved.value) }
}

/// What `reserve` did.
public enum ReservationOutcome: Sendable, Equatable {
    /// Held: `trial` from trial credits (spent first), `regular` from purchased ones.
    case reserved(trial: MicroCredits, regular: MicroCredits)
    /// The available balance does not cover the amount; nothing changed.
    case insufficient(CreditBalance)
}

/// What a settlement charged, for the response header and the usage record.
public struct Settlement: Sendable, Equatable {
    public var charged: MicroCredits
    public var fee: MicroCredits
    /// False if the reservation had already been settled or released: nothing was charged twice.
    public var applied: Bool

    public init(charged: MicroCredits, fee: MicroCredits, applied: Bool) {
        self.charged = charged
        self.fee = fee
        self.applied = applied
    }
}

/// A mismatch `ledger verify` found between a balance and the sum of its entries.
public struct LedgerDiscrepancy: Sendable, Hashable, CustomStringConvertible {
    public var organizationID: String
    public var field: String
    public var balance: Int64
    public var sumOfEntries: Int64

    public init(organizationID: String, field: String, balance: Int64, sumOfEntries: Int64) {
        self.organizationID = organizationID
        self.field = field
        self.balance = balance
        self.sumOfEntries = sumOfEntries
    }

    public var description: String { "\(organizationID): \(field) is \(balance) µcredits but its entries sum to \(sumOfEntries)" }
}
