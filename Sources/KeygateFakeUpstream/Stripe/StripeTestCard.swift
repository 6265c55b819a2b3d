/// What a card does when charged, chosen like Stripe's test payment methods (https://docs.stripe.com/testing).
/// A `pm_…` the fake creates from a magic id keeps its behaviour, so a card saved in a checkout with
/// `pm_card_chargeDeclined` declines the later off-session top-up, as the same card number would on Stripe.
enum StripeTestCard: Sendable {
    case succeeds
    case declined(declineCode: String)
    case authenticationRequired

    var last4: String {
        switch self {
        case .succeeds: "4242"
        case .declined(let code): code == "insufficient_funds" ? "9995" : "0341"
        case .authenticationRequired: "3184"
        }
    }

    /// The behaviour of a magic test id (`pm_card_visa`, …), nil for other ids.
    static func magic(_ id: String) -> StripeTestCard? {
        switch id {
        case "pm_card_visa", "pm_card_mastercard", "pm_card_us": .succeeds
        case "pm_card_chargeDeclined", "pm_card_chargeCustomerFail", "pm_card_visa_chargeDeclined": .declined(declineCode: "generic_decline")
        case "pm_card_chargeDeclinedInsufficientFunds": .declined(declineCode: "insufficient_funds")
        case "pm_card_authenticationRequired", "pm_card_authenticationRequiredChargeDeclinedInsufficientFunds": .authenticationRequired
        default: nil
        }
    }
}
