/// The operator's credit rules (SPEC §5, §6), read from the environment at start-up.
public struct CreditPolicy: Sendable, Equatable {
    /// Platform fee on credit-billed token cost, in basis points (550 = 5.5 %).
    public var platformFeeBasisPoints: Int64 = 0
    /// BYOK fee on the list-price cost of the tokens, in basis points; 0 means no fee.
    public var byokFeeBasisPoints: Int64 = 0
    /// Output tokens assumed for a request without `max_tokens`, at most (the model's own limit may be lower).
    public var defaultMaxOutputTokens: Int64 = 4096
    /// The smallest reservation, so that a request with a tiny estimate still holds something.
    public var minimumReservation: MicroCredits = MicroCredits(10_000)  // 0.01 credit
    /// Credits a new organisation receives, and for how long.
    public var trialCredits: MicroCredits = .zero
    public var trialDays: Int64 = 14

    public init() {}

    /// `amount × bps / 10 000`, rounded up: a fee is never smaller than its rate says.
    public static func fee(on amount: MicroCredits, basisPoints: Int64) -> MicroCredits {
        guard basisPoints > 0, amount.value > 0 else { return .zero }
        let (q, r) = (amount.value * basisPoints).quotientAndRemainder(dividingBy: 10_000)
        return MicroCredits(r > 0 ? q + 1 : q)
    }
}

/// What a credit-billed request reserves before it runs (SPEC §5): the prompt priced at the input rate plus
/// the most output it may produce priced at the output rate, plus the platform fee, never below the floor.
public struct CreditEstimate: Sendable, Equatable {
    public var promptTokens: Int64
    public var maxOutputTokens: Int64
    /// Where `maxOutputTokens` came from: `max_tokens`, the model's limit, or the operator's default.
    public var maxOutputSource: String
    public var cost: MicroCredits
    public var fee: MicroCredits
    public var reservation: MicroCredits

    public static func make(for request: ChatCompletionRequest, model: ModelSpec, policy: CreditPolicy) -> CreditEstimate {
        make(promptBytes: request.byteCount, maxOutputTokens: request.maxOutputTokens, model: model, policy: policy)
    }

    /// The same from the request's size and its output limit, whatever the request's format.
    public static func make(promptBytes: Int, maxOutputTokens: Int64?, model: ModelSpec, policy: CreditPolicy) -> CreditEstimate {
        // Prompt size from the body: about 4 bytes a token, rounded up, never more than the context window.
        var prompt = TokenEstimator.tokens(forBytes: promptBytes)
        if let window = model.contextWindow { prompt = min(prompt, window) }
        let output: Int64
        let source: String
        if let asked = maxOutputTokens {
            output = asked
            source = "max_tokens"
        } else if let limit = model.maxOutputTokens, limit < policy.defaultMaxOutputTokens {
            output = limit
            source = "the model's output limit"
        } else {
            output = policy.defaultMaxOutputTokens
            source = "the gateway's default output allowance"
        }
        let cost =
            (PicoUSD.cost(tokens: prompt, pricePerMillion: model.input) + PicoUSD.cost(tokens: output, pricePerMillion: model.highestOutputPrice))
            .microCreditsRoundedUp
        let fee = CreditPolicy.fee(on: cost, basisPoints: policy.platformFeeBasisPoints)
        let reservation = max(MicroCredits(cost.value + fee.value), policy.minimumReservation)
        return CreditEstimate(promptTokens: prompt, maxOutputTokens: output, maxOutputSource: source, cost: cost, fee: fee, reservation: reservation)
    }
}

extension MicroCredits {
    /// Parses a credit amount written with up to 6 decimals (`12`, `12.5`, `0.000001`), exactly.
    public init?(creditsText text: String) {
        guard let value = DecimalFormat.parse(text, scale: 6) else { return nil }
        self.init(value)
    }
}
