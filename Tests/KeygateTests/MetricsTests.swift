import Foundation
import KeygateCore
@testable import KeygateServer
import KeygateStore
import Testing

/// SPEC §10 `/metrics`: the Prometheus text of the gateway's own registry, behind the optional scrape token, and
/// counters that move by exactly what the requests did (each harness has a registry of its own: no deltas needed).
@Suite struct MetricsTests {
    static let orgKey = "sk-org-own-key-METRICS-4d2e"

    func scrape(_ h: GatewayHarness, token: String?? = .some(nil)) async throws -> MetricsScrape {
        let reply = try await h.request(.GET, "/metrics", key: token)
        #expect(reply.status == 200)
        return MetricsScrape(String(decoding: reply.body, as: UTF8.self))
    }

    @Test func theTokenGuardsTheScrapeAndTheFormatIsPrometheusText() async throws {
        try await withHarness(environment: ["KEYGATE_METRICS_TOKEN": "scrape-token-0123456789"]) { h in
            let without = try await h.request(.GET, "/metrics", key: .some(nil))
            #expect(without.status == 401 && without.error?["code"] as? String == "metrics_token_required")
            #expect(without.headers.first(name: "www-authenticate") == "Bearer")
            let wrong = try await h.request(.GET, "/metrics", key: "scrape-token-WRONG")
            #expect(wrong.status == 401)
            // A Keygate API key is not the metrics token either.
            #expect(try await h.request(.GET, "/metrics").status == 401)

            let reply = try await h.request(.GET, "/metrics", key: "scrape-token-0123456789")
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(decoding: reply.body, as: UTF8.self)
            #expect(text.contains("# TYPE keygate_reservations_open gauge"))
            #expect(text.contains("# TYPE keygate_payment_required_total counter"))
            #expect(text.contains("# TYPE keygate_ledger_commit_seconds histogram"), "the store reports into the gateway's registry")
            #expect(MetricsScrape(text).value("keygate_payment_required_total", ["reason": "insufficient_credits"]) == 0)
            #expect(!text.contains("scrape-token"))
        }
        // Without a token, scraping is open.
        try await withHarness { h in
            let open = try await h.request(.GET, "/metrics", key: .some(nil))
            #expect(open.status == 200)
        }
    }

    @Test func countersMoveByExactlyWhatTheRequestsDid() async throws {
        try await withHarness { h in
            let route = "/v1/chat/completions"
            for _ in 0..<2 { #expect(try await h.chat("hello").status == 200) }
            #expect(try await h.chat("streamed", stream: true, includeUsage: true).status == 200)
            #expect(try await h.chat("free", model: "nvidia/meta/llama-3.1-8b-instruct").status == 200)
            #expect(try await h.chat("who", model: "caller-chosen-MODEL-zq81").status == 404)
            // A key the provider refuses (validation), then the organisation's own key: the next call is BYOK.
            _ = try? await h.addBYOKKey("sk-revoked-key-METRICS-000", validate: true)
            h.fake.accept(Self.orgKey)
            try await h.addBYOKKey(Self.orgKey, validate: true)
            #expect(try await h.chat("byok").status == 200)

            let records = try await h.usageRecords(atLeast: 6)
            #expect(records.count == 6)
            let m = try await scrape(h)
            func requests(_ billing: String, _ provider: String, _ status: String) -> Double {
                m.count("keygate_requests_total", ["route": route, "billing": billing, "provider": provider, "status_class": status])
            }
            #expect(requests("credits", "openai", "2xx") == 3)
            #expect(requests("free", "nvidia", "2xx") == 1)
            #expect(requests("byok", "openai", "2xx") == 1)
            #expect(requests("none", "none", "4xx") == 1)
            #expect(m.count("keygate_http_requests_total", ["route": route, "status_class": "2xx"]) == 5)
            #expect(m.count("keygate_http_requests_total", ["route": route, "status_class": "4xx"]) == 1)

            // Tokens and money: exactly the usage records' sums, per billing path and provider.
            for (billing, provider) in [("credits", "openai"), ("free", "nvidia"), ("byok", "openai")] {
                let mine = records.filter { $0.billing?.rawValue == billing && $0.provider == provider }
                let labels = ["billing": billing, "provider": provider]
                #expect(
                    m.count("keygate_tokens_total", labels.merging(["direction": "input"]) { $1 }) == Double(mine.map(\.inputTokens).reduce(0, +)))
                #expect(
                    m.count("keygate_tokens_total", labels.merging(["direction": "output"]) { $1 }) == Double(mine.map(\.outputTokens).reduce(0, +)))
                #expect(m.count("keygate_credits_charged_microcredits_total", labels) == Double(mine.map(\.creditsCharged.value).reduce(0, +)))
                #expect(m.count("keygate_fees_microcredits_total", labels) == Double(mine.map(\.feeCredits.value).reduce(0, +)))
            }
            #expect(m.count("keygate_credits_charged_microcredits_total", ["billing": "credits", "provider": "openai"]) > 0)

            // Time: one provider observation per call that reached it, one gateway observation per call, one first token per stream.
            #expect(m.value("keygate_upstream_seconds_count", ["provider": "openai"]) == 4)
            #expect(m.value("keygate_upstream_seconds_count", ["provider": "nvidia"]) == 1)
            #expect(m.value("keygate_gateway_overhead_seconds_count", ["route": route]) == 6)
            #expect(m.value("keygate_time_to_first_token_seconds_count", ["provider": "openai"]) == 1)

            // Every hold was settled; no call is still out; the ledger committed in batches it measured.
            #expect(m.value("keygate_reservations_open") == 0)
            #expect(m.value("keygate_job_holds_open") == 0)
            #expect(m.value("keygate_upstream_in_flight", ["provider": "openai"]) == 0)
            #expect(m.count("keygate_upstream_pool_waits_total", ["provider": "openai"]) == 0)
            #expect((m.value("keygate_ledger_commit_group_size_count", ["backend": "sqlite"]) ?? 0) >= 3)

            #expect(m.count("keygate_byok_validations_total", ["provider": "openai", "result": "valid"]) == 1)
            #expect(m.count("keygate_byok_validations_total", ["provider": "openai", "result": "rejected"]) == 1)
            #expect(m.count("keygate_byok_rejections_total", ["provider": "openai", "during": "validation"]) == 1)

            // Nothing the caller chose, no organisation, no key, no secret.
            for secret in [GatewayHarness.platformKey, Self.orgKey, "sk-revoked-key-METRICS-000", h.apiKey, h.apiKeyID, "acme", "caller-chosen"] {
                #expect(!m.text.contains(secret), "\(secret) appears in /metrics")
            }
        }
    }

    @Test func a402IsCountedByReasonAndAStoredKeyRefusedDuringARequestToo() async throws {
        try await withHarness(startingCredits: MicroCredits(1)) { h in
            #expect(try await h.chat("hi", extra: #","max_tokens":1000"#).status == 402)
            try await h.addBYOKKey("sk-org-key-revoked-later-1234")  // stored unchecked; the fake refuses it
            #expect(try await h.chat("hi").status == 403)
            let m = try await scrape(h)
            #expect(m.value("keygate_payment_required_total", ["reason": "insufficient_credits"]) == 1)
            #expect(m.value("keygate_payment_required_total", ["reason": "job_exhausted"]) == 0)
            #expect(
                m.count(
                    "keygate_requests_total", ["route": "/v1/chat/completions", "billing": "credits", "provider": "openai", "status_class": "4xx"])
                    == 1)
            #expect(m.count("keygate_byok_rejections_total", ["provider": "openai", "during": "request"]) == 1)
            #expect(m.value("keygate_reservations_open") == 0)
        }
    }

    @Test func organisationAndModelLabelsOnlyWhenTheOperatorTurnsThemOn() async throws {
        try await withHarness(environment: ["KEYGATE_METRICS_ORG_LABELS": "true"]) { h in
            #expect(try await h.chat("hello").status == 200)
            let m = try await scrape(h)
            let series = m.samples.filter { $0.key.hasPrefix("keygate_requests_total{") }
            #expect(series.count == 1 && series.first?.value == 1)
            #expect(series.first?.key.contains("org=acme") == true && series.first?.key.contains("gpt-5.6-luna") == true, "\(series)")
        }
    }

    @Test func ledgerVerifyWritesItsResultAsGauges() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-verify-\(UUID().uuidString).prom").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try LedgerVerifyMetrics.write(discrepancies: 2, to: path, now: Date(timeIntervalSince1970: 1_700_000_000))
        let m = MetricsScrape(try String(contentsOfFile: path, encoding: .utf8))
        #expect(m.value("keygate_ledger_verify_discrepancies") == 2)
        #expect(m.value("keygate_ledger_verify_last_run_timestamp_seconds") == 1_700_000_000)
    }
}
