import Hummingbird

/// What the billing page's address asks for: Stripe Checkout's return (`?checkout=success&session_id=…` or
/// `?checkout=cancelled`), the page of purchases (`?purchases_page=N`, from 1) and a saved form (`?saved=`).
struct BillingQuery: Sendable {
    var checkout: String?
    var sessionID: String?
    var purchasesPage: Int
    var saved: String?

    init(checkout: String? = nil, sessionID: String? = nil, purchasesPage: Int = 1, saved: String? = nil) {
        self.checkout = checkout
        self.sessionID = sessionID
        self.purchasesPage = purchasesPage
        self.saved = saved
    }

    /// A page number that is not a positive integer is page 1; pages end at `maximumPurchasesPage`.
    init(_ parameters: Parameters) {
        let page = parameters.get("purchases_page").flatMap { Int($0) } ?? 1
        self.init(
            checkout: parameters.get("checkout").map { String($0) }, sessionID: parameters.get("session_id").map { String($0) },
            purchasesPage: min(max(page, 1), Self.maximumPurchasesPage), saved: parameters.get("saved").map { String($0) })
    }

    static let purchasesPerPage = 20
    /// Keeps the rows read for a page bounded (50 × 20 = 1000, the newest purchases).
    static let maximumPurchasesPage = 50
}
