/// A pack of credits an organisation can buy, priced in integer minor units of one currency.
///
/// Invariants (checked by `PackLoader`, relied on by the arithmetic here): `credits` in 1...`maximumCredits`,
/// `price` in 1...`maximumPrice`, so neither `grantedCredits` nor the discount computation can overflow.
public struct CreditPack: Sendable, Hashable {
    /// Largest pack size accepted: keeps `credits × 10⁶` µcredits and `credits × 10⁴` far inside Int64.
    public static let maximumCredits: Int64 = 1_000_000_000_000
    /// Stripe's largest amount for one charge (8 digits of minor units).
    public static let maximumPrice: Int64 = 99_999_999

    public var id: String
    /// Whole credits granted (1 credit = $0.01).
    public var credits: Int64
    /// Minor units of `currency` (cents for usd).
    public var price: Int64
    /// Lower-case ISO 4217 code, as Stripe writes it.
    public var currency: String
    public var label: String

    public init(id: String, credits: Int64, price: Int64, currency: String, label: String) {
        self.id = id
        self.credits = credits
        self.price = price
        self.currency = currency
        self.label = label
    }

    public var grantedCredits: MicroCredits { .credits(credits) }

    /// The discount against 1 credit = 1 minor unit, in basis points (500 = 5%): floored, never negative (a
    /// pack priced above its credits' value simply has no discount).
    public var discountBasisPoints: Int64 {
        guard credits > 0, price < credits else { return 0 }
        return (credits - price) * 10_000 / credits
    }

    /// The price in major units, exact: "47.50" (usd), "1000" (jpy).
    public var priceText: String { CurrencyUnits.majorUnitText(price, currency: currency) }

    /// The discount in percent with two decimals: "5.00", "0.00".
    public var discountText: String { DecimalFormat.string(discountBasisPoints, scale: 2, minimumFractionDigits: 2) }
}
