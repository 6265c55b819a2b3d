import Foundation
import KeygateCore
import KeygateServer
import KeygateStore
import Testing

/// The buying-credits sections of `/{slug}/billing`: packs and Buy (Stripe Checkout through the fake Stripe),
/// the return messages, the auto top-up form (the service's messages inline) and the purchases' paging.
@Suite struct BillingPageTests {
    static let password = "correct horse battery staple"

    /// A payment harness with `ada@example.com` (admin of acme) and `bob@example.com` (member), both signed in.
    func withBilling(_ body: (PaymentHarness, DashboardBrowser, DashboardBrowser) async throws -> Void) async throws {
        try await withPayments(environment: DashboardLoginTests.cheapHashing) { p in
            let accounts = p.h.gateway.accounts
            _ = try await accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            _ = try await accounts.addUser(organizationSlug: "acme", email: "bob@example.com", password: Self.password, role: .member)
            let ada = DashboardBrowser(baseURL: p.h.baseURL)
            let bob = DashboardBrowser(baseURL: p.h.baseURL)
            do {
                #expect(try await ada.logIn(email: "ada@example.com", password: Self.password).status == 303)
                #expect(try await bob.logIn(email: "bob@example.com", password: Self.password).status == 303)
                try await body(p, ada, bob)
            } catch {
                await ada.shutdown()
                await bob.shutdown()
                throw error
            }
            await ada.shutdown()
            await bob.shutdown()
        }
    }

    func purchases(_ p: PaymentHarness) async throws -> [PurchaseRecord] {
        try await p.h.gateway.store.purchases(organizationID: p.h.organization.id, limit: 100)
    }

    @Test func anAdminBuysAPackThroughStripeCheckoutWithTheCSRFToken() async throws {
        try await withBilling { p, ada, _ in
            let page = try await ada.get("/acme/billing")
            #expect(page.status == 200)
            for text in [
                "Buy credits", "Starter: 1,000 credits", "10.00 USD", "Standard: 5,000 credits", "5.00% off", "Auto top-up", "Purchases",
                "No card saved yet",
            ] {
                #expect(page.text.contains(text), "the page shows \(text)")
            }
            #expect(page.text.contains(#"action="/acme/billing/checkout""#))
            #expect(page.text.contains("No purchases yet."))
            #expect(
                page.text.components(separatedBy: "<script").count == page.text.components(separatedBy: "<script src=\"/static/").count
                    && !page.text.contains("style="), "nothing inline: the CSP forbids it")

            let noToken = try await ada.post("/acme/billing/checkout", form: [("pack", "starter")])
            #expect(noToken.status == 403)
            #expect(try await purchases(p).isEmpty, "a refused form starts no purchase")

            let token = try #require(page.formToken)
            let bought = try await ada.post("/acme/billing/checkout", form: [("csrf_token", token), ("pack", "standard")])
            #expect(bought.status == 303)
            #expect(bought.location?.hasPrefix("https://checkout.stripe.com/c/pay/") == true, "sent to Stripe's Checkout url")
            let pending = try #require(try await purchases(p).first)
            #expect(pending.status == .pending)
            #expect(pending.packID == "standard")
            let sessionID = try #require(pending.checkoutSessionID)
            #expect(bought.location?.contains(sessionID) == true)

            let back = try await ada.get("/acme/billing?checkout=success&session_id=\(sessionID)")
            #expect(back.text.contains("Payment received: your credits appear as soon as Stripe confirms it."))
            #expect(back.text.contains("This purchase is pending (waiting for Stripe)."))
            #expect(try await p.deliver(try p.stripe.completeCheckout(sessionID: sessionID, paymentMethod: "pm_card_visa")) == 200)
            let paid = try await ada.get("/acme/billing?checkout=success&session_id=\(sessionID)")
            #expect(paid.text.contains("This purchase is paid, credits added."))
            #expect(paid.text.contains("A card is saved for top-ups."))
            #expect(!paid.text.contains("No purchases yet."))
            #expect(paid.text.contains("6000.00"), "Available rose by the pack's 5,000 credits")

            let unknown = try await ada.get("/acme/billing?checkout=success&session_id=cs_nope")
            #expect(unknown.text.contains("Payment received"))
            #expect(!unknown.text.contains("This purchase is"), "a session id that names no purchase adds nothing")
            let cancelled = try await ada.get("/acme/billing?checkout=cancelled")
            #expect(cancelled.text.contains("Checkout was cancelled: nothing was charged."))

            let unknownPack = try await ada.post("/acme/billing/checkout", form: [("csrf_token", token), ("pack", "gold")])
            #expect(unknownPack.status == 400)
            #expect(unknownPack.text.contains("gold"), "the service's message is shown inline")
        }
    }

    @Test func aMemberSeesThePacksWithoutBuyButtonsAndCannotPost() async throws {
        try await withBilling { p, _, bob in
            let page = try await bob.get("/acme/billing")
            #expect(page.status == 200)
            #expect(page.text.contains("Starter: 1,000 credits"))
            #expect(!page.text.contains(#"action="/acme/billing/checkout""#), "no Buy form for a member")
            #expect(!page.text.contains(#"action="/acme/billing/auto-topup""#), "no auto top-up form for a member")
            let token = try #require(page.metaToken)
            let buy = try await bob.post("/acme/billing/checkout", form: [("csrf_token", token), ("pack", "starter")])
            #expect(buy.status == 403)
            let save = try await bob.post("/acme/billing/auto-topup", form: [("csrf_token", token), ("enabled", "on")])
            #expect(save.status == 403)
            #expect(try await purchases(p).isEmpty)
        }
    }

    @Test func theAutoTopUpFormSavesAndABadValueShowsTheServicesMessageAndChangesNothing() async throws {
        try await withBilling { p, ada, _ in
            let token = try #require(try await ada.get("/acme/billing").formToken)
            let store = p.h.gateway.store
            let orgID = p.h.organization.id

            let tooLow = try await ada.post(
                "/acme/billing/auto-topup",
                form: [("csrf_token", token), ("enabled", "on"), ("threshold_credits", "100"), ("pack", "standard"), ("monthly_limit", "5.00")])
            #expect(tooLow.status == 400)
            #expect(tooLow.text.contains("is below the price of pack"), "PaymentService's own message, inline")
            #expect(tooLow.text.contains(#"value="5.00""#), "what was typed stays in the form to be corrected")
            #expect(tooLow.text.contains(#"<option value="standard" selected>"#))
            #expect(try await store.billingAccount(organizationID: orgID).autoTopUp == AutoTopUpSettings(), "nothing changed")

            let notANumber = try await ada.post(
                "/acme/billing/auto-topup", form: [("csrf_token", token), ("threshold_credits", "lots"), ("pack", "starter")])
            #expect(notANumber.status == 400)
            #expect(notANumber.text.contains("The threshold must be a number of credits"))
            #expect(try await store.billingAccount(organizationID: orgID).autoTopUp == AutoTopUpSettings())

            let saved = try await ada.post(
                "/acme/billing/auto-topup",
                form: [("csrf_token", token), ("enabled", "on"), ("threshold_credits", "100"), ("pack", "standard"), ("monthly_limit", "100.00")])
            #expect(saved.status == 303)
            #expect(saved.location == "/acme/billing?saved=auto-topup#auto-topup")
            let settings = try await store.billingAccount(organizationID: orgID).autoTopUp
            #expect(settings == AutoTopUpSettings(enabled: true, threshold: .credits(100), packID: "standard", monthlyLimit: 10_000))
            let page = try await ada.get("/acme/billing?saved=auto-topup")
            #expect(page.text.contains("Auto top-up saved."))
            #expect(page.text.contains("On, but no card is saved yet"), "no card: it cannot run yet, and the page says so")
            #expect(page.text.contains(#"<option value="standard" selected>"#))
            #expect(page.text.contains(#"value="100.00""#))

            // Unticking "enabled" turns it off and keeps the rest.
            #expect(try await ada.post("/acme/billing/auto-topup", form: [("csrf_token", token), ("pack", "standard")]).status == 303)
            let off = try await store.billingAccount(organizationID: orgID).autoTopUp
            #expect(!off.enabled)
            #expect(off.packID == "standard" && off.monthlyLimit == 10_000)
        }
    }

    @Test func aFailingTopUpIsShownInWords() async throws {
        try await withBilling { p, ada, bob in
            let store = p.h.gateway.store
            try await store.createPurchase(
                PurchaseRecord(
                    id: "pur_declined", organizationID: p.h.organization.id, kind: .topup, packID: "starter", credits: .credits(1000),
                    amount: 1000, currency: "usd", createdAt: WallClock.nowMs()))
            _ = try await store.applyPayment(
                .failed(purchaseID: "pur_declined", reason: "Your card was declined (insufficient funds).", paymentIntentID: nil), eventID: nil)
            for browser in [ada, bob] {
                let page = try await browser.get("/acme/billing")
                #expect(page.text.contains("Failing: Your card was declined (insufficient funds). Save with"), "admins and members see why")
            }
        }
    }

    @Test func purchasesArePagedTwentyAtATime() async throws {
        try await withBilling { p, ada, _ in
            let store = p.h.gateway.store
            for index in 1...25 {
                try await store.createPurchase(
                    PurchaseRecord(
                        id: "pur_page\(index)", organizationID: p.h.organization.id, kind: .topup, status: .failed, packID: "starter",
                        credits: .credits(Int64(index)), amount: 1000, currency: "usd", failureReason: "declined number \(index)",
                        createdAt: 1_700_000_000_000 + Int64(index) * 1000))
            }
            let first = try await ada.get("/acme/billing")
            #expect(first.text.components(separatedBy: "declined number ").count - 1 == 20)
            #expect(first.text.contains("declined number 25<") && first.text.contains("declined number 6<"))
            #expect(!first.text.contains("declined number 5<"))
            #expect(first.text.contains(#"href="/acme/billing?purchases_page=2#purchases""#))
            #expect(first.text.contains("Auto top-up") && first.text.contains("failed"))

            let second = try await ada.get("/acme/billing?purchases_page=2")
            #expect(second.text.components(separatedBy: "declined number ").count - 1 == 5)
            #expect(second.text.contains("declined number 5<") && second.text.contains("declined number 1<"))
            #expect(!second.text.contains("purchases_page=3"), "no older page")
            #expect(second.text.contains(#"href="/acme/billing?purchases_page=1#purchases""#))
            let beyond = try await ada.get("/acme/billing?purchases_page=3")
            #expect(beyond.text.contains("No purchases on this page."))
            let nonsense = try await ada.get("/acme/billing?purchases_page=abc")
            #expect(nonsense.text.contains("declined number 25<"), "a page that is not a number is the first")
        }
    }

    @Test func buyingWithoutStripeConfiguredSaysSoInWords() async throws {
        try await withHarness(environment: DashboardLoginTests.cheapHashing) { h in
            _ = try await h.gateway.accounts.addUser(organizationSlug: "acme", email: "ada@example.com", password: Self.password, role: .admin)
            let ada = DashboardBrowser(baseURL: h.baseURL)
            #expect(try await ada.logIn(email: "ada@example.com", password: Self.password).status == 303)
            let token = try await ada.get("/acme/billing").formToken
            let answer = try await ada.post("/acme/billing/checkout", form: [("csrf_token", token ?? ""), ("pack", "starter")])
            await ada.shutdown()
            #expect(answer.status == 503)
            #expect(answer.text.contains("Buying credits is not set up on this gateway."))
        }
    }
}
