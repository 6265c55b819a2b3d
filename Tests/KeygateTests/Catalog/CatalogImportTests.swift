import Foundation
import Testing
@testable import KeygateCore

/// `keygate catalog import --litellm`: LiteLLM's price map, converted exactly, merged into a catalog without
/// touching the operator's own entries and with their markups applied.
@Suite struct CatalogImportTests {
    static let providers = """
        {"id": "openai", "wire_format": "openai-chat", "base_url": "https://api.openai.com/v1", "validation": {"method": "GET",
          "path": "/models", "auth": "bearer"}},
        {"id": "openai-responses", "wire_format": "openai-responses", "base_url": "https://api.openai.com/v1", "validation": {"method": "GET",
          "path": "/models", "auth": "bearer"}},
        {"id": "anthropic", "wire_format": "anthropic-messages", "base_url": "https://api.anthropic.com", "validation": {"method": "GET",
          "path": "/v1/models", "auth": "x-api-key"}},
        {"id": "aws", "wire_format": "bedrock-converse", "base_url": "https://bedrock-runtime.{region}.amazonaws.com", "credential": "aws",
          "validation": {"method": "POST", "path": "/x", "auth": "sigv4"}},
        {"id": "groq", "wire_format": "openai-chat", "base_url": "https://api.groq.com/openai/v1", "validation": {"method": "GET",
          "path": "/models", "auth": "bearer"}, "markup_basis_points": 1000}
        """

    /// The operator's catalog before the import: two own entries, two from an earlier import (one with its own markup).
    static let current = """
        {"providers": [\(providers)],
         "models": [
          {"provider": "anthropic", "id": "claude-haiku-4-5", "input": 900000, "output": 4000000},
          {"provider": "openai", "id": "my-finetune", "input": 1, "output": 2},
          {"provider": "openai", "id": "gpt-test", "input": 1, "output": 1, "source": "litellm", "markup_basis_points": 500},
          {"provider": "openai", "id": "gpt-gone", "input": 1, "output": 1, "source": "litellm"}
         ]}
        """

    /// LiteLLM-shaped: prices per token as JSON numbers with exponents, a sample spec, other modes and providers.
    static let priceMap = """
        {
          "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers", "mode": "one of: chat, embedding",
            "input_cost_per_token": 0.0},
          "gpt-test": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05,
                       "cache_read_input_token_cost": 1.25e-07, "output_cost_per_reasoning_token": 2e-05,
                       "max_output_tokens": 16384, "max_input_tokens": 128000, "max_tokens": 16384},
          "o-pro-test": {"litellm_provider": "openai", "mode": "responses", "input_cost_per_token": 0.00015, "output_cost_per_token": 0.0006},
          "ft:gpt-test:acme": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.2e-05},
          "text-embedding-test": {"litellm_provider": "openai", "mode": "embedding", "input_cost_per_token": 2e-08, "output_cost_per_token": 0.0},
          "gpt-old": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06,
            "deprecation_date": "2001-01-01"},
          "gpt-noprice": {"litellm_provider": "openai", "mode": "chat", "max_output_tokens": 100},
          "claude-test": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
                          "cache_read_input_token_cost": 3e-07, "cache_creation_input_token_cost": 3.75e-06, "max_output_tokens": 64000,
                          "deprecation_date": "2999-01-01"},
          "claude-zero": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
          "claude-haiku-4-5": {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 5e-06},
          "groq/openai/gpt-oss-test": {"litellm_provider": "groq", "mode": "chat", "input_cost_per_token": 1.5e-07, "output_cost_per_token": 6e-07},
          "anthropic.claude-test-v1:0": {"litellm_provider": "bedrock_converse", "mode": "chat", "input_cost_per_token": 3e-06,
            "output_cost_per_token": 1.5e-05},
          "bedrock/us-east-1/anthropic.claude-test-v1:0": {"litellm_provider": "bedrock", "mode": "chat", "input_cost_per_token": 3.3e-06,
            "output_cost_per_token": 1.65e-05},
          "cohere_chat/command-test": {"litellm_provider": "cohere_chat", "mode": "chat", "input_cost_per_token": 1e-06,
            "output_cost_per_token": 2e-06},
          "cohere_chat/command-test-2": {"litellm_provider": "cohere_chat", "mode": "chat", "input_cost_per_token": 1e-06,
            "output_cost_per_token": 2e-06}
        }
        """

    func imported() throws -> (Catalog, CatalogImportReport) {
        try LiteLLMImporter.importing(Data(Self.priceMap.utf8), into: try CatalogLoader.parse(Data(Self.current.utf8)), today: "2026-12-01")
    }

    func model(_ catalog: Catalog, _ provider: String, _ id: String) -> ModelSpec? {
        catalog.models.first { $0.provider == provider && $0.id == id }
    }

    @Test func pricesPerTokenBecomeExactMicroUSDPerMillion() {
        let cases: [(String, Int64?)] = [
            ("5e-06", 5_000_000), ("1.25e-07", 125_000), ("3.75e-06", 3_750_000), ("0.0000025", 2_500_000), ("2.8e-09", 2_800),
            ("0", 0), ("0.0", 0), ("1E-6", 1_000_000), ("1e-13", 1), ("1.5e-12", 2), ("-1e-06", nil), ("abc", nil),
        ]
        for (text, expected) in cases {
            #expect(LiteLLMImporter.microUSDPerMillion(perTokenText: text)?.value == expected, "\(text)")
        }
        #expect(LiteLLMImporter.applying(markup: 1000, to: MicroUSD(150_000)) == MicroUSD(165_000))
        #expect(LiteLLMImporter.applying(markup: 1, to: MicroUSD(1)) == MicroUSD(2), "a markup rounds up")
    }

    @Test func importsPricesCachedReasoningAndLimits() throws {
        let (catalog, _) = try imported()
        // gpt-test keeps the 5 % markup the operator put on its earlier imported entry.
        let gpt = try #require(model(catalog, "openai", "gpt-test"))
        #expect(gpt.input == MicroUSD(2_625_000) && gpt.output == MicroUSD(10_500_000))
        #expect(gpt.cachedInput == MicroUSD(131_250) && gpt.reasoning == MicroUSD(21_000_000))
        #expect(gpt.maxOutputTokens == 16384 && gpt.contextWindow == 128000)
        #expect(gpt.source == "litellm" && gpt.markupBasisPoints == 500)
        #expect(model(catalog, "openai-responses", "gpt-test") != nil, "a chat model is also on the Responses provider")
        #expect(model(catalog, "openai-responses", "o-pro-test")?.input == MicroUSD(150_000_000))
        #expect(model(catalog, "openai", "o-pro-test") == nil, "a Responses-only model is not offered on chat completions")

        let claude = try #require(model(catalog, "anthropic", "claude-test"))
        #expect(claude.input == MicroUSD(3_000_000) && claude.cachedInput == MicroUSD(300_000) && claude.cacheWrite == MicroUSD(3_750_000))
        #expect(claude.reasoning == nil && claude.maxOutputTokens == 64000)
        // Groq's provider markup (10 %) applies; the id keeps its own slash.
        let groq = try #require(model(catalog, "groq", "openai/gpt-oss-test"))
        #expect(groq.input == MicroUSD(165_000) && groq.output == MicroUSD(660_000) && groq.markupBasisPoints == nil)
        #expect(model(catalog, "aws", "anthropic.claude-test-v1:0")?.input == MicroUSD(3_000_000))
        #expect(catalog.models.filter { $0.provider == "aws" }.count == 1, "a region-specific Bedrock entry is not a model id")
        for skipped in ["text-embedding-test", "gpt-old", "gpt-noprice", "ft:gpt-test:acme"] {
            #expect(model(catalog, "openai", skipped) == nil, "\(skipped)")
        }
    }

    @Test func keepsTheOperatorsEntriesAndReportsWhatChanged() throws {
        let (catalog, report) = try imported()
        let haiku = try #require(model(catalog, "anthropic", "claude-haiku-4-5"))
        #expect(haiku.input == MicroUSD(900_000) && haiku.source == nil, "the operator's price stands over LiteLLM's")
        #expect(model(catalog, "openai", "my-finetune")?.output == MicroUSD(2))
        #expect(model(catalog, "openai", "gpt-gone") == nil, "an imported model LiteLLM dropped is removed")
        #expect(Array(catalog.models.prefix(2).map(\.id)) == ["claude-haiku-4-5", "my-finetune"], "own entries first: they win bare ids")
        #expect(report.operatorEntries == 2 && report.keptOverLiteLLM == 1)
        #expect(report.updated == 1 && report.removed == 1)
        #expect(report.added == 5)  // openai-responses gpt-test and o-pro-test, claude-test, groq, aws
        // gpt-noprice on openai and openai-responses; claude-zero (0 for both is no price, never "free")
        #expect(report.skippedDeprecated == 1 && report.skippedUnpriced == 3)
        #expect(model(catalog, "anthropic", "claude-zero") == nil)
        #expect(report.skippedProviders == ["cohere_chat": 2], "an unknown provider is skipped and counted")
        #expect(report.summary.contains("skipped 2 entries of 1 providers"))
    }

    @Test func aReimportIsStableAndTheWrittenFileLoadsBack() throws {
        let (catalog, _) = try imported()
        let text = CatalogWriter.text(catalog)
        let reloaded = try CatalogLoader.parse(Data(text.utf8))
        #expect(reloaded.models == catalog.models)
        #expect(reloaded.providers == catalog.providers)
        let (again, report) = try LiteLLMImporter.importing(Data(Self.priceMap.utf8), into: reloaded, today: "2026-12-01")
        #expect(again.models == catalog.models)
        #expect(report.added == 0 && report.updated == 0 && report.removed == 0)
        #expect(CatalogWriter.text(again) == text)
    }

    @Test func aBadPriceMapIsAClearError() throws {
        let current = try CatalogLoader.parse(Data(Self.current.utf8))
        #expect(throws: CatalogError.self) { try LiteLLMImporter.importing(Data("[1,2]".utf8), into: current, today: "2026-12-01") }
        #expect(throws: CatalogError.self) { try LiteLLMImporter.importing(Data("{".utf8), into: current, today: "2026-12-01") }
    }

    @Test func reasoningTokensArePricedAtTheirOwnRateAndReservedAtTheDearest() throws {
        let model = ModelSpec(provider: "openai", id: "r", input: MicroUSD(1_000_000), output: MicroUSD(4_000_000), reasoning: MicroUSD(8_000_000))
        let usage = TokenUsage(inputTokens: 1000, outputTokens: 300, reasoningTokens: 100)
        // 1000 × 1 + 200 × 4 + 100 × 8 µUSD per million tokens → pUSD.
        #expect(usage.cost(at: model) == PicoUSD(1000 * 1_000_000 + 200 * 4_000_000 + 100 * 8_000_000))
        var plain = model
        plain.reasoning = nil
        #expect(usage.cost(at: plain) == PicoUSD(1000 * 1_000_000 + 300 * 4_000_000))
        var policy = CreditPolicy()
        policy.minimumReservation = .zero
        let estimate = CreditEstimate.make(promptBytes: 0, maxOutputTokens: 1000, model: model, policy: policy)
        #expect(estimate.cost == PicoUSD(1000 * 8_000_000).microCreditsRoundedUp)
    }

    @Test func diffNamesAddedRemovedAndRepricedModels() throws {
        let before = try CatalogLoader.parse(Data(Self.current.utf8))
        let (after, _) = try imported()
        let diff = CatalogDiff(from: before, to: after)
        #expect(diff.lines.contains("- openai/gpt-gone"))
        #expect(diff.lines.contains { $0.hasPrefix("+ anthropic/claude-test  input 3.00 output 15.00 cached_input 0.30 cache_write 3.75") })
        #expect(diff.lines.contains { $0.hasPrefix("~ openai/gpt-test  input 0.000001 -> 2.625, output 0.000001 -> 10.50") })
        #expect(!diff.lines.contains { $0.contains("claude-haiku-4-5") || $0.contains("my-finetune") })
        #expect(diff.summary.hasPrefix("5 added, 1 removed, 1 changed models"))
        #expect(CatalogDiff(from: after, to: after).isEmpty)
    }

    @Test func theBuiltInCatalogIsAtRealBreadthAndKeepsItsOwnEntries() throws {
        let catalog = try CatalogLoader.builtIn()
        let imported = catalog.models.filter { $0.source == LiteLLMImporter.source }
        #expect(imported.count >= 300)
        #expect(Set(imported.map(\.provider)).count >= 15)
        #expect(imported.contains { $0.reasoning != nil } && imported.contains { $0.cachedInput != $0.input })
        #expect(imported.allSatisfy { $0.input.value >= 0 && $0.maxOutputTokens.map { $0 > 0 } ?? true })
        #expect(!imported.contains { $0.isZeroPriced }, "a free model is only ever an own entry")
        // The models the tests and checks name are there; the free ones and the test's Bedrock id are Keygate's own.
        for id in ["gpt-5.6-luna", "claude-haiku-4-5", "gemini-3.7-flash", "kimi-k3", "deepseek-v4-pro", "grok-4.5", "gpt-5.6-sol"] {
            #expect(imported.contains { $0.id == id }, "\(id)")
        }
        for id in ["llama-3.1-8b-instant", "meta/llama-3.1-8b-instruct", "global.anthropic.claude-sonnet-5-v1:0"] {
            #expect(catalog.models.contains { $0.id == id && $0.source == nil }, "\(id)")
        }
        #expect(catalog.resolve(model: "kimi-k3")?.provider.id == "moonshot", "a bare id resolves to the model's maker, not a host")
    }
}
