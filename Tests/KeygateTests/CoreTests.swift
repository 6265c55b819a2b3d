import Foundation
import Testing
@testable import KeygateCore

@Suite struct MoneyTests {
    @Test func decimalFormattingIsExact() {
        #expect(DecimalFormat.string(2_800, scale: 6) == "0.0028")
        #expect(DecimalFormat.string(5_000_000, scale: 6) == "5")
        #expect(DecimalFormat.string(-1_500_000, scale: 6) == "-1.5")
        #expect(MicroCredits(12_500_000).description == "12.50")
        #expect(MicroCredits(125).description == "0.000125")
        #expect(MicroCredits.zero.description == "0.00")
    }

    @Test func picoDollarsRoundUpToMicroCredits() {
        #expect(PicoUSD(0).microCreditsRoundedUp == MicroCredits(0))
        #expect(PicoUSD(1).microCreditsRoundedUp == MicroCredits(1))
        #expect(PicoUSD(10_000).microCreditsRoundedUp == MicroCredits(1))
        #expect(PicoUSD(10_001).microCreditsRoundedUp == MicroCredits(2))
        #expect(PicoUSD(PicoUSD.perCredit).microCreditsRoundedUp == MicroCredits.credits(1))
    }

    @Test func oneTokenOnTheCheapestPriceIsStillAnExactNonZeroCost() {
        let model = ModelSpec(provider: "deepseek", id: "m", input: MicroUSD(140_000), output: MicroUSD(280_000), cachedInput: MicroUSD(2_800))
        #expect(TokenUsage(inputTokens: 1, cachedInputTokens: 1).cost(at: model) == PicoUSD(2_800))
    }

    @Test func cachedTokensArePricedAtTheCachedRateAndOnlyOnce() {
        // 1000 prompt tokens of which 400 cached, 100 output, reasoning is inside output.
        let model = ModelSpec(provider: "openai", id: "m", input: MicroUSD(2_000_000), output: MicroUSD(12_000_000), cachedInput: MicroUSD(200_000))
        let usage = TokenUsage(inputTokens: 1000, outputTokens: 100, cachedInputTokens: 400, reasoningTokens: 60)
        #expect(usage.cost(at: model) == PicoUSD(600 * 2_000_000 + 400 * 200_000 + 100 * 12_000_000))
        // A provider reporting more cached than prompt tokens cannot make the cost negative.
        let odd = TokenUsage(inputTokens: 10, outputTokens: 0, cachedInputTokens: 50)
        #expect(odd.cost(at: model) == PicoUSD(10 * 200_000))
    }
}

@Suite struct CatalogTests {
    static let specProviders = [
        "openai", "openai-responses", "anthropic", "google", "aws", "azure", "azure-responses", "openrouter", "groq", "together",
        "fireworks", "deepseek", "xai", "mistral", "cerebras", "nvidia", "sambanova", "hyperbolic", "novita", "chutes", "akash",
        "vercel", "morpheus", "moonshot", "zhipu", "qwen", "minimax", "xiaomi",
    ]

    @Test func builtInCatalogListsEverySpecProvider() throws {
        let catalog = try CatalogLoader.builtIn()
        #expect(Set(catalog.providers.map(\.id)) == Set(Self.specProviders))
        #expect(catalog.provider(named: "gemini")?.id == "google")
        #expect(catalog.provider(named: "bedrock")?.id == "aws")
        #expect(catalog.provider(named: "aws")?.credential == .aws)
        #expect(catalog.provider(named: "azure")?.credential == .azure)
        #expect(catalog.provider(named: "groq")?.baseURL == "https://api.groq.com/openai/v1")
        #expect(catalog.provider(named: "anthropic")?.baseURL == "https://api.anthropic.com")
        #expect(catalog.models.count >= 20)
        #expect(catalog.models.contains { $0.isZeroPriced }, "a free model shows routing step 3")
    }

    @Test func resolvesProviderPrefixedAndBareNames() throws {
        let catalog = try CatalogLoader.builtIn()
        #expect(catalog.resolve(model: "openai/gpt-5.6-luna")?.publicID == "openai/gpt-5.6-luna")
        #expect(catalog.resolve(model: "gpt-5.6-luna")?.provider.id == "openai")
        // A model id that itself contains a slash, bare and prefixed.
        #expect(catalog.resolve(model: "openai/gpt-oss-120b")?.provider.id == "groq")
        #expect(catalog.resolve(model: "groq/openai/gpt-oss-120b")?.model.id == "openai/gpt-oss-120b")
        // Aliases work in the prefix.
        #expect(catalog.resolve(model: "gemini/gemini-3.7-flash")?.provider.id == "google")
        #expect(catalog.resolve(model: "kimi/kimi-k3")?.provider.id == "moonshot")
        #expect(catalog.resolve(model: "no-such-model") == nil)
        #expect(catalog.resolve(model: "openai/no-such-model") == nil)
    }

    @Test func pricesAreExactIntegers() throws {
        let catalog = try CatalogLoader.builtIn()
        let pro = try #require(catalog.resolve(model: "deepseek/deepseek-v4-pro"))
        // LiteLLM's $1.32 and $0.044 per million tokens (per token 1.32e-06 and 4.4e-08), exactly.
        #expect(pro.model.input == MicroUSD(1_320_000))
        #expect(pro.model.cachedInput == MicroUSD(44_000))
        let cerebras = try #require(catalog.resolve(model: "cerebras/gpt-oss-120b"))
        #expect(cerebras.model.cachedInput == cerebras.model.input, "cached price defaults to the input price")
    }

    @Test func baseURLOverridesComeFromTheEnvironment() throws {
        let catalog = try CatalogLoader.applyingBaseURLOverrides(
            try CatalogLoader.builtIn(),
            environment: [
                "KEYGATE_PROVIDER_OPENAI_RESPONSES_BASE_URL": "http://127.0.0.1:9/v1",
                "KEYGATE_PROVIDER_GROQ_BASE_URL": "http://127.0.0.1:8/openai/v1",
            ])
        #expect(catalog.provider(named: "openai-responses")?.baseURL == "http://127.0.0.1:9/v1")
        #expect(catalog.provider(named: "groq")?.baseURL == "http://127.0.0.1:8/openai/v1")
        #expect(catalog.provider(named: "openai")?.baseURL == "https://api.openai.com/v1")
    }

    static let validProvider =
        #"{"id":"p","wire_format":"openai-chat","base_url":"http://x/v1","validation":{"method":"GET","path":"/models","auth":"bearer"}}"#

    @Test(arguments: [
        (#"{"providers":[], "models": [}"#, "not valid JSON"),
        (#"{"providers":[{"id":"p"}],"models":[]}"#, "providers[0].wire_format"),
        (#"{"providers":[\#(validProvider)],"models":[{"provider":"p","id":"m","input":"1.5","output":1}]}"#, "models[0].input"),
        (#"{"providers":[\#(validProvider)],"models":[{"provider":"q","id":"m","input":1,"output":1}]}"#, "models[0].provider"),
        (#"{"providers":[\#(validProvider)],"models":[{"provider":"p","id":"m","input":-1,"output":1}]}"#, "models[0].input"),
        (#"{"providers":[\#(validProvider),\#(validProvider)],"models":[]}"#, "providers[1]"),
        (
            #"{"providers":[\#(validProvider)],"models":[{"provider":"p","id":"m","input":1,"output":1},{"provider":"p","id":"m","input":1,"output":1}]}"#,
            "models[1].id"
        ),
    ])
    func badCatalogFilesNameTheField(text: String, expected: String) {
        do {
            _ = try CatalogLoader.parse(Data(text.utf8), path: "test.json")
            Issue.record("accepted a bad catalog")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func invalidJSONNamesTheLine() {
        let text = "{\n  \"providers\": [],\n  \"models\": [ oops ]\n}"
        do {
            _ = try CatalogLoader.parse(Data(text.utf8), path: "test.json")
            Issue.record("accepted invalid JSON")
        } catch {
            #expect("\(error)".contains("line 3"), "\(error)")
        }
    }
}

@Suite struct ChatRequestValidationTests {
    func parse(_ text: String) throws(GatewayError) -> ChatCompletionRequest {
        try ChatCompletionRequest.parse(Array(text.utf8))
    }

    @Test(arguments: [
        ("{not json", nil as String?, "invalid_json"),
        ("[1,2]", nil, "invalid_json"),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", "missing_required_parameter"),
        (#"{"model":5,"messages":[{"role":"user","content":"x"}]}"#, "model", "invalid_type"),
        (#"{"model":"m"}"#, "messages", "missing_required_parameter"),
        (#"{"model":"m","messages":"hi"}"#, "messages", "invalid_type"),
        (#"{"model":"m","messages":[]}"#, "messages", "invalid_request"),
        (#"{"model":"m","messages":[{"content":"x"}]}"#, "messages[0].role", "missing_required_parameter"),
        (#"{"model":"m","messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":5}]}"#, "messages[0].content", "invalid_type"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, "stream", "invalid_type"),
        (
            #"{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":1}}"#, "stream_options.include_usage",
            "invalid_type"
        ),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens", "invalid_value"),
        (#"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":"many"}"#, "max_tokens", "invalid_type"),
    ])
    func rejectsWithTheParameterNamed(body: String, param: String?, code: String) {
        do {
            _ = try parse(body)
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.statusCode == 400)
            #expect(error.param == param)
            #expect(error.code == code)
        }
    }

    @Test func acceptsAFullRequestAndKeepsUnknownFields() throws {
        let request = try parse(
            #"{"model":"openai/gpt-5.6-luna","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":64,"max_tokens":32,"tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"seed":12345678901234}"#
        )
        #expect(request.model == "openai/gpt-5.6-luna")
        #expect(request.stream)
        #expect(request.clientWantsStreamUsage)
        #expect(request.maxOutputTokens == 64)
        #expect(request.body["tools"]?.arrayValue?.count == 1)
        #expect(request.body["seed"] == .int(12345678901234))
    }
}
