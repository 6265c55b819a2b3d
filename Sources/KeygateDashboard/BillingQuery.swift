import Hummingbird

/// What the billing page's address asks for: Stripe Checkout's return (`?checkout=success&session_id=…` or
/// `?checkout=cancelled`), the page of purchases (`?purchases_page=N`, from 1), the page of the ledger
/// (`?ledger_page=N`) and a saved form (`?saved=`).
struct BillingQuery: Sendable {
    var checkout: String?
    var sessionID: String?
    var purchasesPage: Int
    var ledgerPage: Int
    var saved: String?

    init(checkout: String? = nil, sessionID: String? = nil, purchasesPage: Int = 1, ledgerPage: Int = 1, saved: String? = nil) {
        self.checkout = checkout
        self.sessionID = sessionID
        self.purchasesPage = purchasesPage
        self.ledgerPage = ledgerPage
        self.saved = saved
    }

    /// A page number that is not a positive integer is page 1; pages end at `maximumPage`.
    init(_ parameters: Parameters) {
        self.init(
            checkout: parameters.get("checkout").map { String($0) }, sessionID: parameters.get("session_id").map { String($0) },
            purchasesPage: Self.page(parameters.get("purchases_page")), ledgerPage: Self.page(parameters.get("ledger_page")),
            saved: parameters.get("saved").map { String($0) })
    }

    static func page(_ text: String?) -> Int {
        min(max(text.flatMap { Int($0) } ?? 1, 1), maximumPage)
    }

    static let purchasesPerPage = 20
    static let ledgerPerPage = 25
    /// Keeps the rows read for a page bounded (the newest 50 pages: 1000 purchases, 1250 ledger entries).
    static let maximumPage = 50
}
