import KeygateCore
import KeygateStore
import Logging
import ServiceLifecycle
import Synchronization

/// Auto top-up (SPEC §7): when a settlement leaves an organisation below its threshold, buy its pack on the
/// saved card, off the request path. A `Service` of `serve`.
///
/// The request path only notes the organisation (`settled`) and wakes the worker; the worker reads the
/// account, and the store's `claimTopUp` decides in one transaction whether a top-up starts (enabled, idle,
/// below the threshold, none pending, within the monthly limit), so exactly one starts per crossing on any
/// number of processes. A claimed top-up whose answer never came (this or another process died, Stripe did
/// not answer) is asked about again every `retryAfter` with the same idempotency key.
final class AutoTopUp: Service {
    typealias Stores = PurchaseStore & BillingAccountStore & LedgerStore

    private let store: any Stores
    private let packSource: Reloadable<CreditPacks>
    private var packs: CreditPacks { packSource.value }
    /// Nil without a Stripe secret: nothing is ever claimed.
    private let charger: TopUpCharger?
    private let retryAfterMs: Int64
    private let logger: Logger
    private let accounts = ExpiringCache<String, BillingAccount>(ttl: .seconds(2))
    private let noted = Mutex<Set<String>>([])
    private let wakeups: AsyncStream<Void>
    private let wakeupsContinuation: AsyncStream<Void>.Continuation

    init(store: any Stores, packs: Reloadable<CreditPacks>, charger: TopUpCharger?, retryAfterSeconds: Int64, logger: Logger) {
        self.store = store
        self.packSource = packs
        self.charger = charger
        self.retryAfterMs = retryAfterSeconds * 1000
        self.logger = logger
        (wakeups, wakeupsContinuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// After a settlement charged `organizationID`: notes it for the worker. Costs a lock and a wake-up.
    func settled(organizationID: String) {
        guard charger != nil else { return }
        let isNew = noted.withLock { $0.insert(organizationID).inserted }
        if isNew { wakeupsContinuation.yield() }
    }

    /// Forgets what is cached of an organisation's account (its settings changed, a payment was applied).
    func accountChanged(organizationID: String) {
        accounts.remove(organizationID)
    }

    func run() async {
        guard charger != nil else {
            try? await gracefulShutdown()
            return
        }
        let retries = Task { await self.retryLoop() }
        // A graceful stop ends the wake-ups; charges already started finish (the group waits for them). A
        // discarding group: a server runs for months, and finished children must not pile up.
        await withTaskCancellationOrGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in wakeups {
                    let organizations = noted.withLock { noted -> Set<String> in
                        defer { noted.removeAll() }
                        return noted
                    }
                    for organizationID in organizations {
                        group.addTask { await self.topUpIfNeeded(organizationID: organizationID) }
                    }
                }
            }
        } onCancelOrGracefulShutdown: { [wakeupsContinuation] in
            wakeupsContinuation.finish()
        }
        retries.cancel()
    }

    /// Starts the organisation's top-up if it needs one; returns what the charge gave (nil: none started).
    @discardableResult
    func topUpIfNeeded(organizationID: String) async -> TopUpCharger.Result? {
        guard let charger else { return nil }
        do {
            guard
                let account = try await accounts.value(
                    for: organizationID, fetch: { try await store.billingAccount(organizationID: organizationID) }),
                account.autoTopUp.enabled, account.paymentMethodID != nil, let packID = account.autoTopUp.packID
            else { return nil }
            let now = WallClock.nowMs()
            let monthStart = MonthStart.utc(ofMs: now)
            // A limit reached last month no longer holds; one reached this month does until the admin raises it.
            let limitStillHolds = account.state == .monthlyLimitReached && (account.lastErrorAt ?? 0) >= monthStart
            guard account.state == .idle || (account.state == .monthlyLimitReached && !limitStillHolds) else { return nil }
            guard let pack = packs.pack(id: packID) else {
                logger.warning(
                    "Auto top-up names a pack that is no longer offered", metadata: ["organization": "\(organizationID)", "pack": "\(packID)"])
                return nil
            }
            // Cheap pre-check; `claimTopUp` checks again inside its transaction.
            guard try await store.balance(organizationID: organizationID).available < account.autoTopUp.threshold else { return nil }
            let prepared = PurchaseRecord(
                id: Identifiers.make("pur"), organizationID: organizationID, kind: .topup, packID: pack.id,
                credits: pack.grantedCredits, amount: pack.price, currency: pack.currency, createdAt: now)
            let claim = try await store.claimTopUp(prepared, monthStart: monthStart)
            accounts.remove(organizationID)
            switch claim {
            case .claimed(let purchase, let customerID, let paymentMethodID):
                logger.info("Auto top-up started", metadata: ["organization": "\(organizationID)", "purchase": "\(purchase.id)"])
                let result = await charger.charge(purchase, customerID: customerID, paymentMethodID: paymentMethodID)
                accounts.remove(organizationID)
                return result
            case .refused(let reason):
                logger.warning("Auto top-up refused", metadata: ["organization": "\(organizationID)", "reason": "\(reason)"])
                return nil
            case .notNeeded:
                return nil
            }
        } catch {
            logger.error("Auto top-up could not start", metadata: ["organization": "\(organizationID)", "error": "\(error)"])
            return nil
        }
    }

    /// Asks Stripe again about top-ups claimed long ago and still pending (same idempotency key: no second
    /// charge). Returns how many it asked about.
    @discardableResult
    func retryPending(now: Int64 = WallClock.nowMs()) async -> Int {
        guard let charger else { return 0 }
        do {
            let stale = try await store.pendingTopUps(claimedBefore: now - retryAfterMs)
            for purchase in stale {
                if purchase.createdAt < now - Self.giveUpAfterMs {
                    // Stripe keeps idempotency keys for at least 24 h: past that, asking again could charge twice.
                    _ = try await store.applyPayment(
                        .failed(
                            purchaseID: purchase.id,
                            reason:
                                "Stripe gave no final answer for a day; look for metadata keygate_purchase=\(purchase.id) in Stripe before re-enabling",
                            paymentIntentID: nil),
                        eventID: nil)
                    continue
                }
                let account = try await store.billingAccount(organizationID: purchase.organizationID)
                guard let customerID = account.stripeCustomerID, let paymentMethodID = account.paymentMethodID else { continue }
                _ = await charger.charge(purchase, customerID: customerID, paymentMethodID: paymentMethodID)
                accounts.remove(purchase.organizationID)
            }
            return stale.count
        } catch {
            logger.error("Could not look for unanswered top-ups", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Under Stripe's 24 h idempotency-key retention, with room for clock skew.
    static let giveUpAfterMs: Int64 = 23 * 3_600_000

    private func retryLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(max(retryAfterMs / 2, 1000)))
            if Task.isCancelled { return }
            await retryPending()
        }
    }
}
