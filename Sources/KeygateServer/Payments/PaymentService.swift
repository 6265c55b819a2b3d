import KeygateCore
import KeygateStore
import KeygateStripe
import Logging

/// Buying credits (SPEC §7), for the `/api/orgs/{slug}/…` routes and the CLI alike: the packs, Checkout, the
/// purchase history and the auto top-up settings. Every failure is a `GatewayError` in words a person can act
/// on; none carries a secret.
public struct PaymentService: Sendable {
    public typealias Stores = OrganizationStore & PurchaseStore & BillingAccountStore & LedgerStore
    let store: any Stores
    /// The packs in force (a SIGHUP may replace them).
    public var packs: CreditPacks { packSource.value }
    let packSource: Reloadable<CreditPacks>
    let settings: PaymentSettings
    /// Nil when no Stripe secret is configured: checkout answers 503.
    let stripe: StripeClient?
    /// Told when an organisation's auto top-up settings change, so the serving process sees them at once.
    let onAccountChange: @Sendable (String) -> Void
    let logger: Logger

    public init(
        store: any Stores, packs: CreditPacks, settings: PaymentSettings, stripe: StripeClient?, logger: Logger,
        onAccountChange: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.init(store: store, packs: Reloadable(packs), settings: settings, stripe: stripe, logger: logger, onAccountChange: onAccountChange)
    }

    public init(
        store: any Stores, packs: Reloadable<CreditPacks>, settings: PaymentSettings, stripe: StripeClient?, logger: Logger,
        onAccountChange: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.store = store
        self.packSource = packs
        self.settings = settings
        self.stripe = stripe
        self.logger = logger
        self.onAccountChange = onAccountChange
    }

    public func organization(_ slug: String) async throws -> Organization {
        guard let org = try await store.organization(slug: slug) else {
            throw GatewayError.organizationNotFound(slug, in: .database)
        }
        return org
    }

    func pack(_ id: String, param: String) throws(GatewayError) -> CreditPack {
        guard let pack = packs.pack(id: id) else { throw GatewayError.unknownPack(id, known: packs.packs.map(\.id), param: param) }
        return pack
    }

    // MARK: Checkout

    /// What `checkout` created: the purchase (pending until Stripe's webhook confirms the payment) and where
    /// to send the customer.
    public struct CheckoutStarted: Sendable {
        public var purchase: PurchaseRecord
        public var sessionID: String
        public var url: String
    }

    /// Starts buying `packID`: the purchase is written (pending) before Stripe is called, the organisation's
    /// Stripe customer is created once, and the Checkout Session saves the card for auto top-ups. Credits
    /// come only with Stripe's signed confirmation (`StripeWebhookHandler`).
    public func checkout(organization: Organization, packID: String) async throws -> CheckoutStarted {
        let pack = try pack(packID, param: "pack")
        guard let stripe else { throw GatewayError.paymentsNotConfigured }
        var purchase = PurchaseRecord(
            id: Identifiers.make("pur"), organizationID: organization.id, kind: .checkout, packID: pack.id,
            credits: pack.grantedCredits, amount: pack.price, currency: pack.currency, createdAt: WallClock.nowMs())
        try await store.createPurchase(purchase)
        do {
            let customerID = try await customer(for: organization, stripe: stripe)
            let base = settings.publicURL + "/" + organization.slug + "/billing"
            let answer = try await stripe.send(
                StripeRequests.createCheckoutSession(
                    purchaseID: purchase.id, organizationID: organization.id, customerID: customerID, pack: pack,
                    successURL: base + "?checkout=success&session_id={CHECKOUT_SESSION_ID}",
                    cancelURL: base + "?checkout=cancelled"))
            let session = try StripeCheckoutSession(json: answer)
            guard let url = session.url else { throw StripeCallError.unexpectedAnswer("Stripe's Checkout Session has no url") }
            try await store.setCheckoutSession(purchaseID: purchase.id, sessionID: session.id)
            purchase.checkoutSessionID = session.id
            logger.info(
                "Checkout started", metadata: ["organization": "\(organization.slug)", "purchase": "\(purchase.id)", "session": "\(session.id)"])
            return CheckoutStarted(purchase: purchase, sessionID: session.id, url: url)
        } catch {
            // Nobody holds a link to pay this purchase: close it, so the history says what happened.
            let reason = Self.reason(error)
            _ = try? await store.applyPayment(.failed(purchaseID: purchase.id, reason: reason, paymentIntentID: nil), eventID: nil)
            logger.warning("Checkout could not start", metadata: ["purchase": "\(purchase.id)", "error": "\(reason)"])
            throw Self.gatewayError(error)
        }
    }

    /// The organisation's Stripe customer, created on its first purchase. The creation's idempotency key is
    /// the organisation's id and the store keeps the first one written, so concurrent checkouts share one.
    func customer(for organization: Organization, stripe: StripeClient) async throws -> String {
        if let id = try await store.billingAccount(organizationID: organization.id).stripeCustomerID { return id }
        let answer = try await stripe.send(
            StripeRequests.createCustomer(organizationID: organization.id, slug: organization.slug, name: organization.name))
        return try await store.setStripeCustomerID(try StripeCustomer(json: answer).id, organizationID: organization.id)
    }

    static func reason(_ error: any Error) -> String {
        switch error {
        case let error as StripeCallError: error.description
        case let error as GatewayError: error.message
        default: "\(error)"
        }
    }

    static func gatewayError(_ error: any Error) -> any Error {
        switch error {
        case let error as StripeCallError: GatewayError.paymentProviderFailed(error.callerFacingDetail)
        default: error
        }
    }

    // MARK: History

    public func purchases(organization: Organization, limit: Int) async throws -> [PurchaseRecord] {
        try await store.purchases(organizationID: organization.id, limit: limit)
    }

    // MARK: Auto top-up

    /// The account with this month's top-up spend, for `GET …/auto-topup` and `keygate topup show`.
    public struct AutoTopUpView: Sendable {
        public var account: BillingAccount
        public var pack: CreditPack?
        /// What succeeded and pending top-ups cost this calendar month (UTC), in minor units.
        public var spentThisMonth: Int64
    }

    public func autoTopUp(organization: Organization) async throws -> AutoTopUpView {
        let account = try await store.billingAccount(organizationID: organization.id)
        let monthStart = MonthStart.utc(ofMs: WallClock.nowMs())
        let spent = try await store.topUpSpend(organizationID: organization.id, since: monthStart)
        return AutoTopUpView(account: account, pack: account.autoTopUp.packID.flatMap { packs.pack(id: $0) }, spentThisMonth: spent)
    }

    /// Makes a Stripe customer the platform already has, and a card saved to it, the organisation's top-up
    /// card (the operator's way to bring customers over from its own billing; a checkout does it for new ones).
    /// With Stripe configured, the card must be attached to that customer.
    public func attachCard(organization: Organization, customerID: String, paymentMethodID: String) async throws -> AutoTopUpView {
        guard customerID.hasPrefix("cus_"), customerID.count > 4 else {
            throw GatewayError.invalidValue("The customer must be a Stripe customer id (cus_…).", param: "customer")
        }
        guard paymentMethodID.hasPrefix("pm_") || paymentMethodID.hasPrefix("card_"), paymentMethodID.count > 4 else {
            throw GatewayError.invalidValue("The payment method must be a Stripe payment method id (pm_…).", param: "payment_method")
        }
        if let stripe {
            let method: StripePaymentMethod
            do {
                method = try StripePaymentMethod(json: try await stripe.send(StripeRequests.retrievePaymentMethod(id: paymentMethodID)))
            } catch {
                throw Self.gatewayError(error)
            }
            guard method.customerID == customerID else {
                throw GatewayError.invalidValue(
                    "Payment method \(paymentMethodID) is not attached to customer \(customerID) in Stripe: attach it there first.",
                    param: "payment_method")
            }
        }
        _ = try await store.attachTopUpCard(customerID: customerID, paymentMethodID: paymentMethodID, organizationID: organization.id)
        onAccountChange(organization.id)
        logger.info("Top-up card attached", metadata: ["organization": "\(organization.slug)", "customer": "\(customerID)"])
        return try await autoTopUp(organization: organization)
    }

    /// A change of the settings: nil leaves a field as it is.
    public struct AutoTopUpChange: Sendable {
        public var enabled: Bool?
        public var threshold: MicroCredits?
        public var packID: String?
        /// Minor units of the packs' currency.
        public var monthlyLimit: Int64?

        public init(enabled: Bool? = nil, threshold: MicroCredits? = nil, packID: String? = nil, monthlyLimit: Int64? = nil) {
            self.enabled = enabled
            self.threshold = threshold
            self.packID = packID
            self.monthlyLimit = monthlyLimit
        }

        /// A change as people write it (the API's number text, a form field, a CLI option): the threshold in
        /// credits, the limit in major units of `currency`, both exact. The one reading of these amounts.
        public init(enabled: Bool?, thresholdText: String?, packID: String?, monthlyLimitText: String?, currency: String) throws(GatewayError) {
            self.init(enabled: enabled, packID: packID)
            if let text = thresholdText {
                guard let credits = MicroCredits(creditsText: text) else {
                    throw GatewayError.invalidValue("The threshold must be a number of credits, like 100 or 250.50.", param: "threshold_credits")
                }
                threshold = credits
            }
            if let text = monthlyLimitText {
                guard let minor = CurrencyUnits.minorUnits(fromMajorText: text, currency: currency) else {
                    throw GatewayError.invalidValue(
                        "The monthly limit must be an amount in \(currency.uppercased()) with at most \(CurrencyUnits.exponent(of: currency)) decimals, like 100.00.",
                        param: "monthly_limit")
                }
                monthlyLimit = minor
            }
        }
    }

    /// Saves the change after checking it can work: an enabled top-up needs a pack, and a monthly limit that
    /// allows at least that pack once. Saving while enabled is the org admin's explicit act that re-arms a
    /// top-up that failed or was paused.
    public func updateAutoTopUp(organization: Organization, _ change: AutoTopUpChange) async throws -> AutoTopUpView {
        var settings = try await store.billingAccount(organizationID: organization.id).autoTopUp
        if let enabled = change.enabled { settings.enabled = enabled }
        if let threshold = change.threshold {
            guard threshold.value >= 0 else {
                throw GatewayError.invalidValue("'threshold_credits' must be a number of credits of 0 or more.", param: "threshold_credits")
            }
            settings.threshold = threshold
        }
        if let packID = change.packID { settings.packID = try pack(packID, param: "pack").id }
        if let limit = change.monthlyLimit {
            guard limit >= 0 else {
                throw GatewayError.invalidValue("'monthly_limit' must be an amount of 0 or more.", param: "monthly_limit")
            }
            settings.monthlyLimit = limit
        }
        if settings.enabled {
            guard let packID = settings.packID, let pack = packs.pack(id: packID) else {
                throw GatewayError.invalidValue(
                    "Auto top-up needs the pack to buy: set 'pack' to one of \(packs.packs.map(\.id).joined(separator: ", ")).", param: "pack")
            }
            guard settings.monthlyLimit >= pack.price else {
                throw GatewayError.invalidValue(
                    "'monthly_limit' (\(CurrencyUnits.majorUnitText(settings.monthlyLimit, currency: pack.currency)) \(pack.currency)) is below the price of pack '\(pack.id)' (\(pack.priceText) \(pack.currency)): no top-up could ever run. Raise the limit or pick a smaller pack.",
                    param: "monthly_limit")
            }
            guard settings.threshold.value > 0 else {
                throw GatewayError.invalidValue("'threshold_credits' must be above 0 for auto top-up to start.", param: "threshold_credits")
            }
        }
        _ = try await store.setAutoTopUp(settings, organizationID: organization.id)
        onAccountChange(organization.id)
        return try await autoTopUp(organization: organization)
    }
}
