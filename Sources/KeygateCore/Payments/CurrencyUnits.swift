/// How many decimals a currency's minor unit has, as Stripe counts it: prices and Stripe amounts are integers
/// in the minor unit (cents for usd), except for Stripe's zero-decimal currencies where the amount is whole yen, won, ….
public enum CurrencyUnits {
    /// Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal), lower-case ISO codes.
    public static let zeroDecimalCurrencies: Set<String> = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    ]

    /// Decimal places between the minor unit and the major unit: 0 for zero-decimal currencies, otherwise 2.
    public static func exponent(of currency: String) -> Int {
        zeroDecimalCurrencies.contains(currency.lowercased()) ? 0 : 2
    }

    /// An amount in minor units as exact text in major units: `4750` usd → "47.50", `1000` jpy → "1000".
    public static func majorUnitText(_ minorUnits: Int64, currency: String) -> String {
        let exponent = exponent(of: currency)
        // DecimalFormat needs a scale of at least 1 (it traps on 0).
        guard exponent > 0 else { return String(minorUnits) }
        return DecimalFormat.string(minorUnits, scale: exponent, minimumFractionDigits: exponent)
    }

    /// Parses an amount written in major units into minor units, exactly: "200" or "200.00" usd → 20000,
    /// "1000" jpy → 1000. Nil for more decimals than the currency has, a sign, or anything not a number.
    public static func minorUnits(fromMajorText text: String, currency: String) -> Int64? {
        DecimalFormat.parse(text, scale: exponent(of: currency))
    }
}
