import Foundation
import KeygateCore
@testable import KeygateServer
import Logging
import Testing

/// SIGHUP's reload (`ConfigurationReloader.reload`, which the signal runs): the next request pays the new
/// fee and the new prices, restart-only settings are named and kept, a bad file changes nothing.
@Suite struct ConfigurationReloadTests {
    /// The built-in catalog as a file, with gpt-5.6-luna's input price multiplied by `factor`.
    static func writeCatalog(to path: String, lunaInputTimes factor: Int64) throws {
        let builtIn = try CatalogLoader.builtIn()
        let models = builtIn.models.map { model -> ModelSpec in
            var model = model
            if model.provider == "openai" && model.id == "gpt-5.6-luna" { model.input = MicroUSD(model.input.value * factor) }
            return model
        }
        let catalog = try Catalog(providers: builtIn.providers, models: models)
        try Data(CatalogWriter.text(catalog).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func makeDirectory() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-reload-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func theNextRequestPaysTheReloadedFeeAndPricesAndRestartOnlySettingsWait() async throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let catalogPath = directory + "/catalog.json"
        let configPath = directory + "/keygate.yaml"
        try Self.writeCatalog(to: catalogPath, lunaInputTimes: 1)
        func writeConfig(_ text: String) throws { try Data(text.utf8).write(to: URL(fileURLWithPath: configPath), options: .atomic) }
        try writeConfig("catalog: \(catalogPath)\ncredits:\n  platform_fee_percent: 0\nlimits:\n  max_body_bytes: 1000000\n")

        try await withHarness(configFile: configPath) { h in
            let levels = LogLevelControl(.info)
            let reloader = ConfigurationReloader(gateway: h.gateway, logLevel: levels)
            // luna: 8 uncached × $0.20 + 4 cached × $0.02 + 5 out × $1.20 per Mtok = 768 µcredits, no fee.
            var reply = try await h.chat("hi", extra: #","max_tokens":500"#)
            #expect(reply.status == 200 && reply.headers.first(name: "x-keygate-credits-charged") == "0.000768", "\(reply.text)")

            try Self.writeCatalog(to: catalogPath, lunaInputTimes: 2)
            try writeConfig(
                "catalog: \(catalogPath)\nlog_level: debug\ncredits:\n  platform_fee_percent: 10\nlimits:\n  max_body_bytes: 2000000\n")
            let outcome = await reloader.reload()
            #expect(outcome.failure == nil)
            #expect(outcome.applied.sorted() == ["credits.platform_fee_percent", "log_level"])
            #expect(outcome.needsRestart == ["limits.max_body_bytes"])
            #expect(levels.level == .debug)
            #expect(h.gateway.configuration.maxBodyBytes == 1_000_000, "a restart-only setting keeps its running value")

            // Input doubled: 8 × 0.4 + 0.08 + 6 = 9.28 µUSD = 928 µcredits, fee 10 % = 93.
            reply = try await h.chat("hi", extra: #","max_tokens":500"#)
            #expect(reply.status == 200 && reply.headers.first(name: "x-keygate-credits-charged") == "0.001021", "\(reply.text)")
            let record = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(record.creditsCharged == MicroCredits(928) && record.feeCredits == MicroCredits(93))
            let models = try await h.request(.GET, "/v1/models/openai/gpt-5.6-luna")
            let pricing = (models.json?["keygate"] as? [String: Any])?["pricing_usd_per_million_tokens"] as? [String: Any]
            #expect(pricing?["input"] as? String == "0.4", "/v1/models shows the reloaded price: \(models.text)")
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)

            // A bad value: nothing changes, and the reason names the setting and the file.
            try writeConfig("catalog: \(catalogPath)\ncredits:\n  platform_fee_percent: lots\n")
            let failed = await reloader.reload()
            #expect(failed.failure?.hasPrefix("credits.platform_fee_percent (in \(configPath)) must be") == true, "\(failed.failure ?? "")")
            #expect(h.gateway.live.creditPolicy.value.platformFeeBasisPoints == 1000)
            #expect(levels.level == .debug)
            reply = try await h.chat("hi", extra: #","max_tokens":500"#)
            #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.001021")

            let metrics = String(decoding: h.gateway.metrics.exposition(), as: UTF8.self)
            #expect(metrics.contains(#"keygate_config_reloads_total{outcome="applied"} 1"#))
            #expect(metrics.contains(#"keygate_config_reloads_total{outcome="failed"} 1"#))
            let logs = h.logs.all.joined(separator: "\n")
            #expect(logs.contains("Configuration reloaded") && logs.contains("limits.max_body_bytes"))
            #expect(logs.contains("Configuration reload failed"))
        }
    }

    @Test func aRequestInFlightDuringAReloadSettlesAtTheFeeItWasPlannedUnder() async throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/keygate.yaml"
        try Data("credits:\n  platform_fee_percent: 0\n".utf8).write(to: URL(fileURLWithPath: configPath))
        try await withHarness(configFile: configPath) { h in
            // About a second of stream: the reload lands after its reservation, before its settlement.
            async let slow = h.chat("hi #fake chunks=10 delay_ms=100", stream: true)
            for _ in 0..<200 where h.fake.requests.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
            #expect(!h.fake.requests.isEmpty, "the stream reached the provider")
            try Data("credits:\n  platform_fee_percent: 10\n".utf8).write(to: URL(fileURLWithPath: configPath), options: .atomic)
            #expect(await ConfigurationReloader(gateway: h.gateway, logLevel: LogLevelControl(.info)).reload().failure == nil)
            #expect(try await slow.status == 200)
            let planned = try #require(try await h.usageRecords().first)
            #expect(planned.creditsCharged.value > 0 && planned.feeCredits == .zero, "charged at the fee it started with")

            _ = try await h.chat("hi #fake chunks=10", stream: true)
            let next = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(next.creditsCharged == planned.creditsCharged)
            #expect(next.feeCredits == CreditPolicy.fee(on: next.creditsCharged, basisPoints: 1000) && next.feeCredits.value > 0)
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func packsTiersAndTheTrialPolicyReloadToo() async throws {
        let directory = try Self.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let configPath = directory + "/keygate.yaml"
        let packsPath = directory + "/packs.json"
        let tiersPath = directory + "/tiers.json"
        try Data(#"{"packs":[{"id":"small","credits":500,"price":500,"currency":"usd","label":"500 credits"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: packsPath))
        try Data(#"{"tiers":[{"name":"quick","typical":14,"min":10,"max":30}]}"#.utf8).write(to: URL(fileURLWithPath: tiersPath))
        try Data("payments:\n  packs: \(packsPath)\n".utf8).write(to: URL(fileURLWithPath: configPath))

        try await withHarness(configFile: configPath) { h in
            #expect(h.gateway.packs.packs.map(\.id) == ["small"])
            try Data(
                #"{"packs":[{"id":"small","credits":500,"price":500,"currency":"usd","label":"500 credits"},{"id":"large","credits":5000,"price":4500,"currency":"usd","label":"5,000 credits"}]}"#
                    .utf8
            ).write(to: URL(fileURLWithPath: packsPath))
            try Data("payments:\n  packs: \(packsPath)\njobs:\n  tiers: \(tiersPath)\n  failed_job_policy: charge\ntrial:\n  credits: 25\n".utf8)
                .write(to: URL(fileURLWithPath: configPath))
            let outcome = await ConfigurationReloader(gateway: h.gateway, logLevel: LogLevelControl(.info)).reload()
            #expect(outcome.failure == nil && outcome.needsRestart.isEmpty)
            #expect(h.gateway.live.jobTiers.value.map(\.name) == ["quick"])
            #expect(h.gateway.live.failedJobPolicy.value == .charge)
            #expect(h.gateway.live.creditPolicy.value.trialCredits == .credits(25))
            // The routes built at start-up see the new packs.
            let admin = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true)
            let packs = try await h.request(.GET, "/api/orgs/acme/packs", key: admin.plaintext)
            #expect(packs.status == 200 && packs.text.contains(#""large""#), "\(packs.text)")
            let tiers = try await h.request(.GET, "/api/orgs/acme/tiers", key: admin.plaintext)
            #expect(tiers.status == 200 && tiers.text.contains(#""quick""#), "\(tiers.text)")
        }
    }
}
