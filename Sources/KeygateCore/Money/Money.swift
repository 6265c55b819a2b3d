/// Money in Keygate is always an integer count of a small unit; there is no floating point anywhere on a
/// billing path.
///
/// - Catalog prices are `MicroUSD` per million tokens (`$0.0028/Mtok` = 2_800), exact for every published price.
/// - The cost of a request is `PicoUSD`: tokens × (µUSD per Mtok) is exactly 10⁻¹² USD, so a one-token
///   request on the cheapest model still costs a non-zero, exact amount.
/// - Credit balances and charges are `MicroCredits` (1 credit = $0.01, so 1 µcredit = 10⁻⁸ USD = 10⁴ pUSD).

/// An amount of US dollars in units of 10⁻⁶ USD.
public struct MicroUSD: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public static let zero = MicroUSD(0)
    public var description: String { "$" + DecimalFormat.string(value, scale: 6) }

    public init(from decoder: Decoder) throws { self.value = try decoder.singleValueContainer().decode(Int64.self) }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// An amount of US dollars in units of 10⁻¹² USD: the exact product of a token count and a `MicroUSD`-per-million price.
public struct PicoUSD: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public static let zero = PicoUSD(0)
    public static let perCredit: Int64 = 10_000_000_000  // $0.01

    /// `tokens × price` where price is µUSD per million tokens. Traps on overflow rather than wrapping: an
    /// overflow here (over $9 million for one line item) means a broken catalog, never a real request.
    public static func cost(tokens: Int64, pricePerMillion: MicroUSD) -> PicoUSD {
        PicoUSD(tokens * pricePerMillion.value)
    }

    public static func + (lhs: Self, rhs: Self) -> Self { PicoUSD(lhs.value + rhs.value) }

    /// Converts to credits, rounding up so a charge is never smaller than its cost.
    public var microCreditsRoundedUp: MicroCredits {
        let unit: Int64 = 10_000  // pUSD per µcredit
        let (q, r) = value.quotientAndRemainder(dividingBy: unit)
        return MicroCredits(r > 0 ? q + 1 : q)
    }

    public var description: String { "$" + DecimalFormat.string(value, scale: 12) }
}

/// A number of credits in units of 10⁻⁶ credit (1 credit = $0.01).
public struct MicroCredits: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64
    public init(_ value: Int64) { self.value = value }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }
    public static let zero = MicroCredits(0)
    public static func credits(_ whole: Int64) -> MicroCredits { MicroCredits(whole * 1_000_000) }
    /// Exact decimal text, at least two decimals (`12.50`, `0.000125`).
    public var description: String { DecimalFormat.string(value, scale: 6, minimumFractionDigits: 2) }
}

/// Renders scaled integers as exact decimal strings.
public enum DecimalFormat {
    /// Parses a non-negative decimal with at most `scale` decimals into an integer of that scale, exactly:
    /// `"12.5"` at scale 2 is 1250. Nil for anything else (a sign, an exponent, too many decimals, overflow).
    public static func parse(_ text: String, scale: Int) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let wholePart = parts.first, !wholePart.isEmpty || parts.count == 2,
            wholePart.allSatisfy({ $0.isASCII && $0.isNumber }),
            let whole = wholePart.isEmpty ? 0 : Int64(wholePart)
        else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard !digits.isEmpty, digits.count <= scale, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits) else {
                return nil
            }
            fraction = value
            for _ in 0..<(scale - digits.count) { fraction *= 10 }
        }
        var factor: Int64 = 1
        for _ in 0..<scale { factor *= 10 }
        let (scaled, overflow) = whole.multipliedReportingOverflow(by: factor)
        guard !overflow, scaled <= Int64.max - fraction else { return nil }
        return scaled + fraction
    }

    public static func string(_ value: Int64, scale: Int, minimumFractionDigits: Int? = nil) -> String {
        let negative = value < 0
        let magnitude = value.magnitude
        var divisor: UInt64 = 1
        for _ in 0..<scale { divisor *= 10 }
        let whole = magnitude / divisor
        var fraction = String(magnitude % divisor)
        fraction = String(repeating: "0", count: scale - fraction.count) + fraction
        let keep = max(minimumFractionDigits ?? 0, fraction.count - fraction.reversed().prefix(while: { $0 == "0" }).count)
        fraction = String(fraction.prefix(keep))
        return (negative ? "-" : "") + String(whole) + (fraction.isEmpty ? "" : "." + fraction)
    }
}
