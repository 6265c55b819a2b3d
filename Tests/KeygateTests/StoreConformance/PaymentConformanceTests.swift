import Foundation
import KeygateCore
import KeygateStore
import Testing

/// What every `Store` backend must do with payments (SPEC §7): each Stripe event grants or takes back once,
/// whatever the order, the replays and the processes; one auto top-up at a time, never beyond the monthly limit.
/// Each test runs once per backend in `StoreBackend.all` and ends by checking that every balance is still the sum
/// of its entries.
@Suite struct PaymentConformanceTests {
    func withPayments(_ backend: StoreBackend, _ body: (any Store, String, StoreUnderTest) async throws -> Void) async throws {
        try await backend.open().use { database in
            let store = database.store
            try await store.migrate()
            let org = try await store.createOrganization(slug: "acme", name: "Acme")
            try await body(store, org.id, database)
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty, "the balance is always the sum of its entries")
            try await store.close()
        }
    }

    static func credits(_ n: Int64) -> MicroCredits { .credits(n) }

    static func checkout(
        _ id: String, _ org: String, credits: MicroCredits = .credits(10), amount: Int64 = 1000, createdAt: Int64 = WallClock.nowMs()
    ) -> PurchaseRecord {
        PurchaseRecord(
            id: id, organizationID: org, kind: .checkout, packID: "p10", credits: credits, amount: amount, currency: "usd", createdAt: createdAt)
    }

    static func topUp(_ id: String, _ org: String, createdAt: Int64 = WallClock.nowMs()) -> PurchaseRecord {
        PurchaseRecord(
            id: id, organizationID: org, kind: .topup, packID: "p10", credits: .credits(10), amount: 1000, currency: "usd", createdAt: createdAt)
    }

    static func paid(_ purchaseID: String, amount: Int64 = 1000, currency: String = "usd", card: String? = nil) -> PaymentChange {
        .paid(
            purchaseID: purchaseID, amount: amount, currency: currency, paymentIntentID: "pi_\(purchaseID)", chargeID: "ch_\(purchaseID)",
            paymentMethodID: card)
    }

    static func refunded(_ purchaseID: String, _ amount: Int64) -> PaymentChange {
        .refunded(purchaseID: purchaseID, amountRefunded: amount, currency: "usd", chargeID: "ch_\(purchaseID)")
    }

    /// Buys `pur_paid` (10 credits, 1000 usd) through a checkout and returns its balance.
    @discardableResult
    static func buy(_ store: any Store, _ org: String, id: String = "pur_paid", card: String? = nil) async throws -> CreditBalance {
        try await store.createPurchase(checkout(id, org))
        guard case .applied(let balance) = try await store.applyPayment(paid(id, card: card), eventID: "evt_paid_\(id)") else {
            Issue.record("the checkout was not granted")
            return CreditBalance()
        }
        return balance
    }

    /// A customer, a card saved by a paid checkout (10 credits), and auto top-up on below 100 credits.
    static func readyForTopUps(_ store: any Store, _ org: String, monthlyLimit: Int64 = 100_000) async throws {
        #expect(try await store.setStripeCustomerID("cus_1", organizationID: org) == "cus_1")
        try await buy(store, org, id: "pur_card", card: "pm_1")
        let account = try await store.setAutoTopUp(
            AutoTopUpSettings(enabled: true, threshold: credits(100), packID: "p10", monthlyLimit: monthlyLimit), organizationID: org)
        #expect(account.state == .idle && account.paymentMethodID == "pm_1")
    }

    static func monthStart() -> Int64 { WallClock.nowMs() - 86_400_000 }

    static func kinds(_ store: any Store, _ org: String) async throws -> [LedgerEntryKind] {
        try await store.ledgerEntries(organizationID: org, limit: 1000).map(\.kind)
    }

    // MARK: - Granting once

    @Test(arguments: StoreBackend.all)
    func aReplayedEventGrantsOnce(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await store.createPurchase(Self.checkout("pur_1", org))
            try await store.setCheckoutSession(purchaseID: "pur_1", sessionID: "cs_1")
            let first = try await store.applyPayment(Self.paid("pur_1"), eventID: "evt_1")
            #expect(first == .applied(CreditBalance(regular: Self.credits(10))))
            #expect(try await store.applyPayment(Self.paid("pur_1"), eventID: "evt_1") == .alreadyApplied)
            #expect(try await store.balance(organizationID: org).regular == Self.credits(10))
            let entries = try await store.ledgerEntries(organizationID: org, limit: 10)
            #expect(entries.map(\.kind) == [.purchase])
            #expect(entries.first?.reason == "checkout pur_1")
            let purchase = try #require(try await store.purchase(id: "pur_1"))
            #expect(purchase.status == .succeeded && purchase.completedAt != nil)
            for stripeID in ["cs_1", "pi_pur_1", "ch_pur_1"] {
                #expect(try await store.purchase(stripeID: stripeID)?.id == "pur_1", "found by \(stripeID)")
            }
            #expect(try await store.purchase(stripeID: "pi_other") == nil)
            await #expect(throws: StoreError.self) { try await store.createPurchase(Self.checkout("pur_1", org)) }
        }
    }

    @Test(arguments: StoreBackend.all)
    func tenConcurrentDeliveriesFromTwoProcessesGrantOnce(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, database in
            let other = try await database.openAnother()
            try await store.createPurchase(Self.checkout("pur_1", org))
            let outcomes = try await withThrowingTaskGroup(of: PaymentChangeOutcome.self) { group in
                for i in 0..<10 {
                    let target = i % 2 == 0 ? store : other
                    group.addTask { try await target.applyPayment(Self.paid("pur_1"), eventID: "evt_1") }
                }
                return try await group.reduce(into: [PaymentChangeOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { if case .applied = $0 { true } else { false } }.count == 1)
            #expect(outcomes.filter { $0 == .alreadyApplied }.count == 9)
            #expect(try await Self.kinds(store, org) == [.purchase])
            #expect(try await store.balance(organizationID: org).regular == Self.credits(10))
            try await other.close()
        }
    }

    @Test(arguments: StoreBackend.all)
    func aTopUpsSynchronousAnswerAndItsWebhookGrantOnceWhicheverComesFirst(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await store.createPurchase(Self.topUp("pur_sync_first", org))
            guard case .applied = try await store.applyPayment(Self.paid("pur_sync_first"), eventID: nil) else {
                Issue.record("the synchronous answer did not grant")
                return
            }
            #expect(try await store.applyPayment(Self.paid("pur_sync_first"), eventID: nil) == .alreadyApplied)
            #expect(try await store.applyPayment(Self.paid("pur_sync_first"), eventID: "evt_a") == .alreadyApplied)
            try await store.createPurchase(Self.topUp("pur_hook_first", org))
            guard case .applied = try await store.applyPayment(Self.paid("pur_hook_first"), eventID: "evt_b") else {
                Issue.record("the webhook did not grant")
                return
            }
            #expect(try await store.applyPayment(Self.paid("pur_hook_first"), eventID: nil) == .alreadyApplied)
            #expect(try await Self.kinds(store, org) == [.purchase, .purchase])
            #expect(try await store.balance(organizationID: org).regular == Self.credits(20))
            #expect(try await store.ledgerEntries(organizationID: org, limit: 1).first?.reason == "auto top-up pur_hook_first")
        }
    }

    @Test(arguments: StoreBackend.all)
    func aPaymentThatDoesNotMatchIsFlaggedAndGrantsNothing(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await store.createPurchase(Self.checkout("pur_amount", org))
            try await store.createPurchase(Self.checkout("pur_currency", org))
            #expect(
                try await store.applyPayment(Self.paid("pur_amount", amount: 999), eventID: "evt_1")
                    == .flagged(reason: "paid 999 usd, the purchase is 1000 usd"))
            guard case .flagged(let reason) = try await store.applyPayment(Self.paid("pur_currency", currency: "EUR"), eventID: "evt_2") else {
                Issue.record("a payment in another currency was not flagged")
                return
            }
            #expect(reason.contains("eur") && reason.contains("usd"))
            #expect(try await store.purchase(id: "pur_amount")?.status == .flagged)
            #expect(try await store.purchase(id: "pur_amount")?.failureReason == "paid 999 usd, the purchase is 1000 usd")
            // A later, matching report does not grant a flagged purchase either: it waits for a human.
            #expect(try await store.applyPayment(Self.paid("pur_amount"), eventID: "evt_3") == .alreadyApplied)
            #expect(try await store.balance(organizationID: org) == CreditBalance())
            #expect(try await Self.kinds(store, org).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.all)
    func anEventForAnUnknownPurchaseAppliesOnceThePurchaseExists(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            #expect(try await store.applyPayment(Self.paid("pur_late"), eventID: "evt_1") == .unknownPurchase)
            try await store.createPurchase(Self.checkout("pur_late", org))
            guard case .applied = try await store.applyPayment(Self.paid("pur_late"), eventID: "evt_1") else {
                Issue.record("the retried event was not applied")
                return
            }
            #expect(try await store.balance(organizationID: org).regular == Self.credits(10))
        }
    }

    @Test(arguments: StoreBackend.all)
    func failuresAndExpiriesAreRecordedAndEndThePurchase(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await store.createPurchase(Self.checkout("pur_expired", org))
            try await store.createPurchase(Self.checkout("pur_failed", org))
            #expect(try await store.applyPayment(.expired(purchaseID: "pur_expired"), eventID: "evt_1") == .recorded)
            #expect(
                try await store.applyPayment(.failed(purchaseID: "pur_failed", reason: "card_declined", paymentIntentID: "pi_f"), eventID: "evt_2")
                    == .recorded)
            #expect(try await store.purchase(id: "pur_expired")?.status == .expired)
            let failed = try #require(try await store.purchase(id: "pur_failed"))
            #expect(failed.status == .failed && failed.failureReason == "card_declined" && failed.paymentIntentID == "pi_f")
            #expect(try await store.applyPayment(Self.paid("pur_expired"), eventID: "evt_3") == .alreadyApplied)
            #expect(try await store.balance(organizationID: org) == CreditBalance())
            let newest = try await store.purchases(organizationID: org, limit: 10).map(\.id)
            #expect(Set(newest) == ["pur_expired", "pur_failed"])
        }
    }

    /// Different events on one organisation's purchases, each delivered twice, concurrently from two processes: every
    /// event applies once and none of them fails (on PostgreSQL: the purchase, balance and billing rows are locked
    /// in one order, so they wait for each other and never deadlock).
    @Test(arguments: StoreBackend.all)
    func concurrentEventsOnOneOrganisationEachApplyOnce(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, database in
            let other = try await database.openAnother()
            try await Self.buy(store, org, id: "pur_a")
            try await Self.buy(store, org, id: "pur_b")
            try await store.createPurchase(Self.checkout("pur_c", org))
            try await store.createPurchase(Self.checkout("pur_d", org))
            let events: [(String, PaymentChange)] = [
                ("evt_dispute", .disputeOpened(purchaseID: "pur_a", disputeID: "du_a", amount: 1000, currency: "usd")),
                ("evt_refund", Self.refunded("pur_b", 500)),
                ("evt_paid_c", Self.paid("pur_c", card: "pm_c")),
                ("evt_paid_d", Self.paid("pur_d", card: "pm_d")),
            ]
            let outcomes = try await withThrowingTaskGroup(of: PaymentChangeOutcome.self) { group in
                for round in 0..<2 {
                    for (i, (eventID, change)) in events.enumerated() {
                        let target = (i + round) % 2 == 0 ? store : other
                        group.addTask { try await target.applyPayment(change, eventID: eventID) }
                    }
                }
                return try await group.reduce(into: [PaymentChangeOutcome]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .alreadyApplied }.count == 4)
            #expect(outcomes.filter { if case .applied = $0 { true } else { false } }.count == 4)
            #expect(try await store.balance(organizationID: org).regular == Self.credits(10 - 10 + 10 - 5 + 10 + 10))
            let kinds = try await Self.kinds(store, org)
            #expect(kinds.filter { $0 == .purchase }.count == 4 && kinds.filter { $0 == .dispute }.count == 1)
            #expect(kinds.filter { $0 == .refund }.count == 1)
            #expect(try await store.billingAccount(organizationID: org).state == .paused)
            try await other.close()
        }
    }

    // MARK: - Refunds and disputes

    @Test(arguments: StoreBackend.all)
    func partialRefundsTakeTheirShareOnceAndNeverMoreThanThePurchase(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            // 10.000001 credits for 3 cents: the shares do not divide evenly.
            try await store.createPurchase(Self.checkout("pur_1", org, credits: MicroCredits(10_000_001), amount: 3))
            _ = try await store.applyPayment(Self.paid("pur_1", amount: 3), eventID: "evt_paid")
            #expect(
                try await store.applyPayment(Self.refunded("pur_1", 1), eventID: "evt_r1")
                    == .applied(CreditBalance(regular: MicroCredits(10_000_001 - 3_333_333))))
            #expect(try await store.applyPayment(Self.refunded("pur_1", 1), eventID: "evt_r1") == .alreadyApplied, "a replay")
            #expect(try await store.applyPayment(Self.refunded("pur_1", 1), eventID: "evt_r1_again") == .recorded, "not larger")
            #expect(try await store.applyPayment(Self.refunded("pur_1", 2), eventID: "evt_r2") != .recorded)
            #expect(try await store.balance(organizationID: org).regular == MicroCredits(10_000_001 - 6_666_667))
            #expect(try await store.applyPayment(Self.refunded("pur_1", 1), eventID: "evt_r1_late") == .recorded, "out of order")
            #expect(try await store.applyPayment(Self.refunded("pur_1", 3), eventID: "evt_r3") == .applied(CreditBalance()))
            #expect(try await store.applyPayment(Self.refunded("pur_1", 5), eventID: "evt_r5") == .recorded, "nothing left to take")
            let purchase = try #require(try await store.purchase(id: "pur_1"))
            #expect(purchase.refundedAmount == 5 && purchase.creditsTakenBack == MicroCredits(10_000_001))
            let entries = try await store.ledgerEntries(organizationID: org, limit: 100)
            #expect(entries.map(\.kind) == [.refund, .refund, .refund, .purchase])
            #expect(entries.filter { $0.kind == .refund }.reduce(0) { $0 + $1.regularDelta.value } == -10_000_001)
        }
    }

    @Test(arguments: StoreBackend.all)
    func aRefundOfAnUnpaidPurchaseTakesNothing(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await store.createPurchase(Self.checkout("pur_1", org))
            #expect(try await store.applyPayment(Self.refunded("pur_1", 1000), eventID: "evt_r") == .alreadyApplied)
            #expect(try await Self.kinds(store, org).isEmpty)
        }
    }

    /// A refund or dispute in another currency than the purchase's has no share of it to take: it is flagged with
    /// both figures, its event recorded (a replay is `alreadyApplied`), and nothing else changes.
    @Test(arguments: StoreBackend.all)
    func aRefundOrDisputeInAnotherCurrencyIsFlaggedAndMovesNothing(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            let bought = try await Self.buy(store, org)
            let refund = PaymentChange.refunded(purchaseID: "pur_paid", amountRefunded: 500, currency: "EUR", chargeID: "ch_pur_paid")
            let opened = PaymentChange.disputeOpened(purchaseID: "pur_paid", disputeID: "du_1", amount: 500, currency: "eur")
            let lost = PaymentChange.disputeClosed(purchaseID: "pur_paid", disputeID: "du_2", amount: 1000, currency: "eur", won: false)
            let cases: [(PaymentChange, String, String)] = [
                (refund, "evt_r", "refunded 500 eur, the purchase is 1000 usd"),
                (opened, "evt_o", "dispute du_1 of 500 eur, the purchase is 1000 usd"),
                (lost, "evt_l", "dispute du_2 of 1000 eur, the purchase is 1000 usd"),
            ]
            for (change, eventID, reason) in cases {
                #expect(try await store.applyPayment(change, eventID: eventID) == .flagged(reason: reason))
                #expect(try await store.applyPayment(change, eventID: eventID) == .alreadyApplied, "\(eventID) was recorded")
            }
            #expect(try await store.balance(organizationID: org) == bought)
            #expect(try await Self.kinds(store, org) == [.purchase])
            let purchase = try await store.purchase(id: "pur_paid")
            #expect(purchase?.status == .succeeded && purchase?.refundedAmount == 0 && purchase?.creditsTakenBack == .zero)
            #expect(try await store.billingAccount(organizationID: org).state != .paused)
            // Nothing of them was kept: the same refund and dispute in dollars apply in full.
            #expect(
                try await store.applyPayment(Self.refunded("pur_paid", 500), eventID: "evt_r_usd")
                    == .applied(CreditBalance(regular: Self.credits(5))))
            let openedInDollars = PaymentChange.disputeOpened(purchaseID: "pur_paid", disputeID: "du_1", amount: 500, currency: "usd")
            #expect(try await store.applyPayment(openedInDollars, eventID: "evt_o_usd") == .applied(CreditBalance()))
        }
    }

    @Test(arguments: StoreBackend.all)
    func aDisputeOpenedThenWonTakesTheCreditsAndGivesThemBack(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.buy(store, org)
            let opened = PaymentChange.disputeOpened(purchaseID: "pur_paid", disputeID: "du_1", amount: 500, currency: "usd")
            #expect(try await store.applyPayment(opened, eventID: "evt_o") == .applied(CreditBalance(regular: Self.credits(5))))
            #expect(try await store.applyPayment(opened, eventID: "evt_o2") == .alreadyApplied, "once per dispute id")
            let account = try await store.billingAccount(organizationID: org)
            #expect(account.state == .paused && account.lastError == "payment disputed (du_1)" && account.lastErrorAt != nil)
            let won = PaymentChange.disputeClosed(purchaseID: "pur_paid", disputeID: "du_1", amount: 500, currency: "usd", won: true)
            #expect(try await store.applyPayment(won, eventID: "evt_w") == .applied(CreditBalance(regular: Self.credits(10))))
            #expect(try await store.applyPayment(won, eventID: "evt_w2") == .alreadyApplied, "already closed")
            #expect(try await Self.kinds(store, org) == [.dispute, .dispute, .purchase])
            #expect(try await store.purchase(id: "pur_paid")?.creditsTakenBack == .zero)
        }
    }

    @Test(arguments: StoreBackend.all)
    func aDisputeOpenedThenLostKeepsTheCreditsTakenAndARefundDoesNotTakeThemTwice(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.buy(store, org)
            _ = try await store.applyPayment(
                .disputeOpened(purchaseID: "pur_paid", disputeID: "du_1", amount: 1000, currency: "usd"), eventID: "evt_o")
            #expect(try await store.balance(organizationID: org).regular == .zero)
            let lost = PaymentChange.disputeClosed(purchaseID: "pur_paid", disputeID: "du_1", amount: 1000, currency: "usd", won: false)
            #expect(try await store.applyPayment(lost, eventID: "evt_l") == .recorded)
            #expect(try await store.applyPayment(Self.refunded("pur_paid", 1000), eventID: "evt_r") == .recorded)
            #expect(try await store.balance(organizationID: org).regular == .zero)
            #expect(try await Self.kinds(store, org) == [.dispute, .purchase])
            #expect(try await store.purchase(id: "pur_paid")?.creditsTakenBack == Self.credits(10))
        }
    }

    @Test(arguments: StoreBackend.all)
    func aDisputeWonAfterARefundGivesBackOnlyWhatTheRefundDoesNotOwe(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.buy(store, org)
            _ = try await store.applyPayment(
                .disputeOpened(purchaseID: "pur_paid", disputeID: "du_1", amount: 1000, currency: "usd"), eventID: "evt_o")
            #expect(try await store.applyPayment(Self.refunded("pur_paid", 400), eventID: "evt_r") == .recorded, "already all taken")
            _ = try await store.applyPayment(
                .disputeClosed(purchaseID: "pur_paid", disputeID: "du_1", amount: 1000, currency: "usd", won: true), eventID: "evt_w")
            #expect(try await store.balance(organizationID: org).regular == Self.credits(6))
        }
    }

    @Test(arguments: StoreBackend.all)
    func aDisputeClosedBeforeItWasSeenOpen(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.buy(store, org, id: "pur_lost")
            try await Self.buy(store, org, id: "pur_won")
            let lost = PaymentChange.disputeClosed(purchaseID: "pur_lost", disputeID: "du_lost", amount: 1000, currency: "usd", won: false)
            #expect(try await store.applyPayment(lost, eventID: "evt_1") == .applied(CreditBalance(regular: Self.credits(10))))
            #expect(try await store.billingAccount(organizationID: org).state == .paused)
            let lateOpen = PaymentChange.disputeOpened(purchaseID: "pur_lost", disputeID: "du_lost", amount: 1000, currency: "usd")
            #expect(try await store.applyPayment(lateOpen, eventID: "evt_2") == .alreadyApplied)
            let won = PaymentChange.disputeClosed(purchaseID: "pur_won", disputeID: "du_won", amount: 1000, currency: "usd", won: true)
            #expect(try await store.applyPayment(won, eventID: "evt_3") == .recorded)
            let lateOpenWon = PaymentChange.disputeOpened(purchaseID: "pur_won", disputeID: "du_won", amount: 1000, currency: "usd")
            #expect(try await store.applyPayment(lateOpenWon, eventID: "evt_4") == .alreadyApplied)
            #expect(try await store.balance(organizationID: org).regular == Self.credits(10))
            #expect(try await Self.kinds(store, org) == [.dispute, .purchase, .purchase])
        }
    }

    // MARK: - Auto top-up

    @Test(arguments: StoreBackend.all)
    func twentyConcurrentClaimsFromTwoProcessesClaimOneTopUp(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, database in
            let other = try await database.openAnother()
            try await Self.readyForTopUps(store, org)
            let monthStart = Self.monthStart()
            let claims = try await withThrowingTaskGroup(of: TopUpClaim.self) { group in
                for i in 0..<20 {
                    let target = i % 2 == 0 ? store : other
                    group.addTask { try await target.claimTopUp(Self.topUp("pur_t\(i)", org), monthStart: monthStart) }
                }
                return try await group.reduce(into: [TopUpClaim]()) { $0.append($1) }
            }
            let claimed = claims.compactMap { claim -> PurchaseRecord? in
                guard case .claimed(let record, let customer, let card) = claim, customer == "cus_1", card == "pm_1" else { return nil }
                return record
            }
            #expect(claimed.count == 1)
            #expect(claims.filter { if case .notNeeded = $0 { true } else { false } }.count == 19)
            let record = try #require(claimed.first)
            #expect(record.status == .pending && record.kind == .topup)
            #expect(try await store.billingAccount(organizationID: org).state == .inFlight)
            #expect(try await store.pendingTopUps(claimedBefore: WallClock.nowMs() + 1).map(\.id) == [record.id])
            #expect(try await store.pendingTopUps(claimedBefore: record.createdAt).isEmpty)
            // The database itself refuses a second pending top-up.
            await #expect(throws: StoreError.self) { try await store.createPurchase(Self.topUp("pur_extra", org)) }
            guard case .applied = try await store.applyPayment(Self.paid(record.id), eventID: nil) else {
                Issue.record("the top-up was not granted")
                return
            }
            #expect(try await store.billingAccount(organizationID: org).state == .idle)
            #expect(try await store.balance(organizationID: org).regular == Self.credits(20))
            try await other.close()
        }
    }

    @Test(arguments: StoreBackend.all)
    func noTopUpAboveTheThresholdOrWithoutACardOrWhenOff(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t0", org), monthStart: Self.monthStart()) else {
                Issue.record("claimed with no account")
                return
            }
            _ = try await store.setAutoTopUp(
                AutoTopUpSettings(enabled: true, threshold: Self.credits(5), packID: "p10", monthlyLimit: 10_000), organizationID: org)
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t1", org), monthStart: Self.monthStart()) else {
                Issue.record("claimed without a card")
                return
            }
            _ = try await store.setStripeCustomerID("cus_1", organizationID: org)
            try await Self.buy(store, org, id: "pur_card", card: "pm_1")
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t2", org), monthStart: Self.monthStart()) else {
                Issue.record("claimed with 10 credits above a threshold of 5")
                return
            }
            _ = try await store.setAutoTopUp(
                AutoTopUpSettings(enabled: false, threshold: Self.credits(50), packID: "p10", monthlyLimit: 10_000), organizationID: org)
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t3", org), monthStart: Self.monthStart()) else {
                Issue.record("claimed while off")
                return
            }
            #expect(try await store.purchases(organizationID: org, limit: 10).map(\.id) == ["pur_card"], "nothing written")
        }
    }

    @Test(arguments: StoreBackend.all)
    func theMonthlyLimitRefusesOnceAMonth(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.readyForTopUps(store, org, monthlyLimit: 2500)
            let monthStart = Self.monthStart()
            for id in ["pur_t1", "pur_t2"] {
                guard case .claimed = try await store.claimTopUp(Self.topUp(id, org), monthStart: monthStart) else {
                    Issue.record("\(id) was not claimed")
                    return
                }
                _ = try await store.applyPayment(Self.paid(id), eventID: nil)
            }
            #expect(try await store.topUpSpend(organizationID: org, since: monthStart) == 2000, "two paid top-ups of 1000")
            #expect(try await store.claimTopUp(Self.topUp("pur_t3", org), monthStart: monthStart) == .refused("monthly_limit_reached"))
            #expect(try await store.topUpSpend(organizationID: org, since: monthStart) == 2000, "a refused top-up costs nothing")
            let refused = try #require(try await store.purchase(id: "pur_t3"))
            #expect(refused.status == .refused && refused.failureReason == "monthly_limit_reached")
            let account = try await store.billingAccount(organizationID: org)
            #expect(account.state == .monthlyLimitReached && account.lastError == "monthly_limit_reached")
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t4", org), monthStart: monthStart) else {
                Issue.record("refused twice in a month")
                return
            }
            #expect(try await store.purchase(id: "pur_t4") == nil)
            // A new month: last month's top-ups no longer count.
            let nextMonth = WallClock.nowMs() + 1
            try await Task.sleep(for: .milliseconds(5))
            guard case .claimed = try await store.claimTopUp(Self.topUp("pur_t5", org), monthStart: nextMonth) else {
                Issue.record("a new month did not allow a top-up")
                return
            }
            #expect(try await store.balance(organizationID: org).regular == Self.credits(30))
            #expect(try await store.topUpSpend(organizationID: org, since: nextMonth) == 1000, "only the new month's pending top-up")
        }
    }

    @Test(arguments: StoreBackend.all)
    func aFailingOrPausedAutoTopUpWaitsForTheAdminOrANewCard(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.readyForTopUps(store, org)
            let monthStart = Self.monthStart()
            guard case .claimed(let first, _, _) = try await store.claimTopUp(Self.topUp("pur_t1", org), monthStart: monthStart) else {
                Issue.record("not claimed")
                return
            }
            #expect(
                try await store.applyPayment(.failed(purchaseID: first.id, reason: "card_declined", paymentIntentID: nil), eventID: nil)
                    == .recorded)
            var account = try await store.billingAccount(organizationID: org)
            #expect(account.state == .failing && account.lastError == "card_declined")
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t2", org), monthStart: monthStart) else {
                Issue.record("a failing auto top-up retried")
                return
            }
            // Switching it off keeps the failure on record; switching it on is the admin's act that clears it.
            var settings = account.autoTopUp
            settings.enabled = false
            account = try await store.setAutoTopUp(settings, organizationID: org)
            #expect(account.state == .failing && account.lastError == "card_declined")
            settings.enabled = true
            account = try await store.setAutoTopUp(settings, organizationID: org)
            #expect(account.state == .idle && account.lastError == nil)
            guard case .claimed(let second, _, _) = try await store.claimTopUp(Self.topUp("pur_t3", org), monthStart: monthStart) else {
                Issue.record("enabling again did not unblock")
                return
            }
            _ = try await store.applyPayment(.failed(purchaseID: second.id, reason: "authentication_required", paymentIntentID: nil), eventID: nil)
            // A new card from a checkout clears `failing`.
            try await Self.buy(store, org, id: "pur_newcard", card: "pm_2")
            account = try await store.billingAccount(organizationID: org)
            #expect(account.state == .idle && account.paymentMethodID == "pm_2")
            // A dispute pauses it; a new card does not undo that, the admin does.
            _ = try await store.applyPayment(
                .disputeOpened(purchaseID: "pur_card", disputeID: "du_1", amount: 1000, currency: "usd"), eventID: "evt_d")
            try await Self.buy(store, org, id: "pur_newercard", card: "pm_3")
            #expect(try await store.billingAccount(organizationID: org).state == .paused)
            guard case .notNeeded = try await store.claimTopUp(Self.topUp("pur_t4", org), monthStart: monthStart) else {
                Issue.record("a paused auto top-up claimed")
                return
            }
            _ = try await store.setAutoTopUp(settings, organizationID: org)
            guard case .claimed(_, _, let card) = try await store.claimTopUp(Self.topUp("pur_t5", org), monthStart: monthStart) else {
                Issue.record("enabling again did not unpause")
                return
            }
            #expect(card == "pm_3")
        }
    }

    /// A dispute's pause is the stronger state: a top-up that was in flight and then fails does not turn it into
    /// `failing`, which a new card would clear without the admin.
    @Test(arguments: StoreBackend.all)
    func aTopUpFailingWhilePausedLeavesItPaused(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            #expect(try await store.billingAccount(organizationID: org) == BillingAccount(organizationID: org))
            try await Self.readyForTopUps(store, org)
            guard case .claimed(let topUp, _, _) = try await store.claimTopUp(Self.topUp("pur_t1", org), monthStart: Self.monthStart()) else {
                Issue.record("not claimed")
                return
            }
            _ = try await store.applyPayment(
                .disputeOpened(purchaseID: "pur_card", disputeID: "du_1", amount: 1000, currency: "usd"), eventID: "evt_d")
            _ = try await store.applyPayment(.failed(purchaseID: topUp.id, reason: "card_declined", paymentIntentID: nil), eventID: "evt_f")
            try await Self.buy(store, org, id: "pur_newcard", card: "pm_2")
            let account = try await store.billingAccount(organizationID: org)
            #expect(account.state == .paused && account.lastError == "payment disputed (du_1)")
            #expect(try await store.purchase(id: topUp.id)?.status == .failed)
        }
    }

    @Test(arguments: StoreBackend.all)
    func anOlderCheckoutArrivingLateDoesNotReplaceANewerCard(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            let now = WallClock.nowMs()
            try await store.createPurchase(Self.checkout("pur_old", org, createdAt: now - 60_000))
            try await store.createPurchase(Self.checkout("pur_new", org, createdAt: now))
            _ = try await store.applyPayment(Self.paid("pur_new", card: "pm_new"), eventID: "evt_new")
            _ = try await store.applyPayment(Self.paid("pur_old", card: "pm_old"), eventID: "evt_old")
            #expect(try await store.billingAccount(organizationID: org).paymentMethodID == "pm_new")
            try await store.createPurchase(Self.checkout("pur_newest", org, createdAt: now + 60_000))
            _ = try await store.applyPayment(Self.paid("pur_newest", card: "pm_newest"), eventID: "evt_newest")
            #expect(try await store.billingAccount(organizationID: org).paymentMethodID == "pm_newest")
            #expect(try await store.balance(organizationID: org).regular == Self.credits(30))
        }
    }

    @Test(arguments: StoreBackend.all)
    func theFirstStripeCustomerStoredWins(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            let first = try await store.setStripeCustomerID("cus_first", organizationID: org)
            let second = try await store.setStripeCustomerID("cus_second", organizationID: org)
            #expect(first == "cus_first" && second == "cus_first")
            #expect(try await store.billingAccount(organizationID: org).stripeCustomerID == "cus_first")
        }
    }

    @Test(arguments: StoreBackend.all)
    func anAttachedCardReplacesTheCustomerAndCardAndClearsAFailure(backend: StoreBackend) async throws {
        try await withPayments(backend) { store, org, _ in
            try await Self.readyForTopUps(store, org)
            guard case .claimed(let first, _, _) = try await store.claimTopUp(Self.topUp("pur_t1", org), monthStart: Self.monthStart()) else {
                Issue.record("not claimed")
                return
            }
            _ = try await store.applyPayment(.failed(purchaseID: first.id, reason: "card_declined", paymentIntentID: nil), eventID: nil)
            #expect(try await store.billingAccount(organizationID: org).state == .failing)
            let account = try await store.attachTopUpCard(customerID: "cus_migrated", paymentMethodID: "pm_migrated", organizationID: org)
            #expect(account.stripeCustomerID == "cus_migrated" && account.paymentMethodID == "pm_migrated")
            #expect(account.state == .idle && account.lastError == nil)
            // It is the newest card: a late webhook of an older checkout does not replace it.
            try await store.createPurchase(Self.checkout("pur_older", org, createdAt: WallClock.nowMs() - 60_000))
            _ = try await store.applyPayment(Self.paid("pur_older", card: "pm_older"), eventID: "evt_older")
            #expect(try await store.billingAccount(organizationID: org).paymentMethodID == "pm_migrated")
            guard case .claimed(_, let customer, _) = try await store.claimTopUp(Self.topUp("pur_t2", org), monthStart: Self.monthStart()) else {
                Issue.record("the attached card did not re-arm the top-up")
                return
            }
            #expect(customer == "cus_migrated")
        }
    }
}
