import AsyncHTTPClient
import Foundation
import GRDB
import KeygateCore
@testable import KeygateServer
import KeygateStore
import NIOCore
import Synchronization
import Testing

@Suite struct CreditEstimateTests {
    let model = ModelSpec(
        provider: "openai", id: "m", input: MicroUSD(2_000_000), output: MicroUSD(12_000_000), maxOutputTokens: 128_000, contextWindow: 1000)

    func request(_ extra: String = "", content: String = "hello") throws -> ChatCompletionRequest {
        try ChatCompletionRequest.parse(Array(#"{"model":"m","messages":[{"role":"user","content":"\#(content)"}]\#(extra)}"#.utf8))
    }

    @Test func usesMaxTokensOrTheCappedModelLimit() throws {
        var policy = CreditPolicy()
        policy.minimumReservation = .zero
        let asked = CreditEstimate.make(for: try request(#","max_tokens":100"#), model: model, policy: policy)
        #expect(asked.maxOutputTokens == 100 && asked.maxOutputSource == "max_tokens")
        let prompt = asked.promptTokens
        #expect(prompt == Int64((try request(#","max_tokens":100"#).byteCount + 3) / 4))
        // (prompt × $2 + 100 × $12) per Mtok, in µcredits rounded up.
        #expect(asked.cost == PicoUSD(prompt * 2_000_000 + 100 * 12_000_000).microCreditsRoundedUp)
        let unbounded = CreditEstimate.make(for: try request(), model: model, policy: policy)
        #expect(unbounded.maxOutputTokens == 4096, "the operator's default caps the model's 128k limit")
        var small = model
        small.maxOutputTokens = 1000
        #expect(CreditEstimate.make(for: try request(), model: small, policy: policy).maxOutputTokens == 1000)
        // A huge prompt is never estimated beyond the context window.
        #expect(
            CreditEstimate.make(for: try request(content: String(repeating: "x", count: 20_000)), model: model, policy: policy).promptTokens == 1000)
    }

    @Test func addsThePlatformFeeAndNeverGoesBelowTheFloor() throws {
        var policy = CreditPolicy()
        policy.platformFeeBasisPoints = 550
        let estimate = CreditEstimate.make(for: try request(#","max_tokens":100"#), model: model, policy: policy)
        #expect(estimate.fee == CreditPolicy.fee(on: estimate.cost, basisPoints: 550))
        #expect(estimate.reservation == MicroCredits(max(estimate.cost.value + estimate.fee.value, 10_000)))
        let free = ModelSpec(provider: "x", id: "f", input: .zero, output: .zero)
        #expect(CreditEstimate.make(for: try request(), model: free, policy: policy).reservation == MicroCredits(10_000))
    }

    @Test func feesRoundUpAndCreditTextParsesExactly() {
        #expect(CreditPolicy.fee(on: MicroCredits(1_000), basisPoints: 550) == MicroCredits(55))
        #expect(CreditPolicy.fee(on: MicroCredits(1), basisPoints: 550) == MicroCredits(1))
        #expect(CreditPolicy.fee(on: MicroCredits(1_000), basisPoints: 0) == .zero)
        #expect(MicroCredits(creditsText: "12.5") == MicroCredits(12_500_000))
        #expect(MicroCredits(creditsText: "0.000001") == MicroCredits(1))
        #expect(MicroCredits(creditsText: "7") == MicroCredits(7_000_000))
        for bad in ["", "-1", "1.0000001", "abc", "1.", "1e3"] { #expect(MicroCredits(creditsText: bad) == nil, "\(bad)") }
    }
}

@Suite struct CreditsFlowTests {
    func adminKey(_ h: GatewayHarness) async throws -> String {
        try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true).plaintext
    }

    @Test func notEnoughCreditsIs402AndReservesNothing() async throws {
        try await withHarness(startingCredits: MicroCredits(1)) { h in
            let reply = try await h.chat("hi", extra: #","max_tokens":1000"#)
            #expect(reply.status == 402)
            #expect(reply.error?["code"] as? String == "insufficient_credits")
            #expect(reply.error?["param"] as? String == "max_tokens")
            let message = reply.error?["message"] as? String ?? ""
            #expect(message.contains("1000 output tokens") && message.contains("0.000001 available") && message.contains("Buy credits"), "\(message)")
            #expect(h.fake.requests.isEmpty)
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.available == MicroCredits(1) && balance.reserved == .zero)
            #expect(try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).map(\.kind) == [.grant])
            // A free model still runs.
            #expect(try await h.chat("hi", model: "nvidia/meta/llama-3.1-8b-instruct").status == 200)
        }
    }

    @Test func theReportedUsageIsChargedAndTheRestReturned() async throws {
        try await withHarness(environment: ["KEYGATE_PLATFORM_FEE_PERCENT": "5.5"]) { h in
            let before = try await h.gateway.store.balance(organizationID: h.organization.id)
            let reply = try await h.chat("hi", extra: #","max_tokens":500"#)
            #expect(reply.status == 200)
            // luna: 8 uncached × $0.20 + 4 cached × $0.02 + 5 out × $1.20 per Mtok = 7.68 µUSD = 768 µcredits; fee 5.5 % → 43.
            #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.000811")
            let after = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(after.reserved == .zero)
            #expect(before.available.value - after.available.value == 811)
            let kinds = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 4).map(\.kind)
            #expect(kinds == [.release, .fee, .settle, .reserve])
            let record = try #require(try await h.usageRecords().first)
            #expect(record.creditsCharged == MicroCredits(768) && record.feeCredits == MicroCredits(43))
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func streamsAreChargedFromTheirFinalUsageOrAFlaggedEstimate() async throws {
        try await withHarness { h in
            _ = try await h.chat("hi #fake chunks=3", stream: true)
            // Settled (with its usage record) before the response ended: no waiting for it here.
            let settles = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).filter { $0.kind == .settle }
            #expect(settles.count == 1, "the stream was charged before its end reached the client")
            var record = try #require(try await h.usageRecords().first)
            // 8 × 0.2 + 4 × 0.02 + 3 × 1.2 µUSD = 5.28 µUSD = 528 µcredits.
            #expect(record.creditsCharged == MicroCredits(528) && !record.tokensEstimated)
            _ = try await h.chat("hi #fake chunks=5 cut_after=2", stream: true)
            record = try #require(try await h.usageRecords(atLeast: 2).first)
            #expect(record.tokensEstimated && record.creditsCharged.value > 0)
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).reserved == .zero)
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// The end of a stream reaches the client only once its charge is stored: with the database locked by
    /// another process while the stream finishes, the client is still waiting; it gets its end right after
    /// the lock goes and the settlement lands.
    @Test func aStreamEndsOnlyAfterItsChargeIsStored() async throws {
        try await withHarness { h in
            let ended = EndFlag()
            let answer = Task {
                let reply = try await h.chat("hi #fake chunks=3 delay_ms=300", stream: true)
                ended.value.store(true, ordering: .relaxed)
                return reply
            }
            try await Task.sleep(for: .milliseconds(150))
            var config = Configuration()
            config.allowsUnsafeTransactions = true  // the lock stays held between the two accesses below
            config.busyMode = .timeout(5)  // the gateway may be writing at that moment
            let other = try DatabaseQueue(path: h.dataDirectory + "/keygate.db", configuration: config)
            try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
            try await Task.sleep(for: .milliseconds(1500))  // the stream's content is done after about 900 ms
            let settlesWhileLocked = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).filter {
                $0.kind == .settle
            }
            #expect(settlesWhileLocked.isEmpty)
            let endedWhileLocked = ended.value.load(ordering: .relaxed)
            #expect(!endedWhileLocked, "the client must not see the end of the stream before its charge is stored")
            try await other.writeWithoutTransaction { db in try db.execute(sql: "COMMIT") }
            #expect(try await answer.value.status == 200)
            let settles = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).filter { $0.kind == .settle }
            #expect(settles.count == 1)
            try other.close()
        }
    }

    /// A settlement the database refuses (here a trigger) charges nothing, and the usage record says so
    /// instead of claiming the charge; the reservation stays open for the sweeper.
    @Test func aRefusedSettlementLeavesARecordThatChargesNothing() async throws {
        try await withHarness { h in
            var config = Configuration()
            config.busyMode = .timeout(5)
            let other = try DatabaseQueue(path: h.dataDirectory + "/keygate.db", configuration: config)
            try await other.write { db in
                try db.execute(
                    sql: """
                        CREATE TRIGGER refuse_settlements BEFORE INSERT ON ledger_entries WHEN NEW.kind = 'settle'
                        BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
                        """)
            }
            for stream in [false, true] {
                let reply = try await h.chat("hi", stream: stream)
                #expect(reply.status == 200)
                if !stream { #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.00") }
            }
            let records = try await h.usageRecords(atLeast: 2)
            #expect(records.count == 2)
            for record in records {
                #expect(record.errorCode == "settlement_failed")
                #expect(record.creditsCharged == .zero && record.feeCredits == .zero)
                #expect(record.outputTokens > 0, "the work that was done is still on record")
            }
            let kinds = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).map(\.kind)
            #expect(!kinds.contains(.settle))
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).reserved > .zero, "left for the sweeper")
            try other.close()
        }
    }

    @Test func aFailedRequestCostsNothing() async throws {
        try await withHarness { h in
            let before = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(try await h.chat("hi #fake status=500").status == 502)
            #expect(try await h.chat("hi #fake status=429 retry_after=2", stream: true).status == 429)
            let after = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(after == before)
            let kinds = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 4).map(\.kind)
            #expect(kinds == [.release, .reserve, .release, .reserve])
        }
    }

    @Test func byokRequestsReserveNothingAndPayOnlyTheByokFee() async throws {
        try await withHarness(environment: ["KEYGATE_BYOK_FEE_PERCENT": "5"]) { h in
            h.fake.accept("sk-org-key-0123456789abcdef")
            try await h.addBYOKKey("sk-org-key-0123456789abcdef")
            let reply = try await h.chat("hi")
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            // 5 % of the 768 µcredit list-price cost, rounded up.
            #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.000039")
            let kinds = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 2).map(\.kind)
            #expect(kinds == [.fee, .grant])
            let admin = try await adminKey(h)
            let balance = try await h.request(.GET, "/api/orgs/acme/balance", key: admin)
            #expect(balance.json?["byok_request_count"] as? Int == 1)
        }
    }

    @Test func theByokFeeOnAModelFreeHereUsesItsPaidListPrice() async throws {
        try await withHarness(environment: ["KEYGATE_BYOK_FEE_PERCENT": "10"]) { h in
            h.fake.accept("gsk_org_key_0123456789abcdef")
            try await h.addBYOKKey("gsk_org_key_0123456789abcdef", provider: "groq")
            let reply = try await h.chat("hi", model: "groq/llama-3.1-8b-instant")
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            // 12 prompt × $0.05 + 5 output × $0.08 per Mtok = 1 µUSD = 100 µcredits; 10 % → 10 µcredits.
            #expect(reply.headers.first(name: "x-keygate-credits-charged") == "0.00001")
        }
    }

    @Test func twoHundredConcurrentRequestsNeverOverspend() async throws {
        // Each request reserves the 1-credit floor; 50 credits cover 50 requests in flight at once.
        try await withHarness(environment: ["KEYGATE_MIN_RESERVATION_CREDITS": "1"], startingCredits: .credits(50)) { h in
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        var request = HTTPClientRequest(url: h.baseURL + "/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "authorization", value: "Bearer " + h.apiKey)
                        request.body = .bytes(
                            ByteBuffer(string: GatewayHarness.chatBody("hi #fake first_byte_delay_ms=1500", extra: #","max_tokens":10"#)))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        return Int(response.status.code)
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            try await client.shutdown()
            let accepted = statuses.filter { $0 == 200 }.count
            #expect(
                accepted >= 50 && statuses.allSatisfy { $0 == 200 || $0 == 402 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.available.value >= 0 && balance.reserved == .zero)
            let entries = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 2000)
            #expect(entries.allSatisfy { $0.availableAfter.value >= 0 }, "available never went below zero")
            #expect(entries.filter { $0.kind == .settle }.count == accepted, "every accepted request charged exactly once")
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func balanceLedgerAndEstimateRoutes() async throws {
        try await withHarness(environment: ["KEYGATE_TRIAL_CREDITS": "5", "KEYGATE_TRIAL_DAYS": "7"], startingCredits: .credits(20)) { h in
            let admin = AdminService(store: h.gateway.store)
            let org = try await admin.createOrganization(slug: "trialco", name: nil, trial: h.gateway.configuration.creditPolicy)
            let (_, key) = try await admin.createAPIKey(organizationSlug: "trialco", name: nil, isAdmin: true)
            let balance = try await h.request(.GET, "/api/orgs/trialco/balance", key: key)
            #expect(balance.status == 200)
            #expect(
                balance.text.contains(#""available":5.00"#) && balance.text.contains(#""total":5.00"#) && balance.text.contains(#""reserved":0.00"#),
                "\(balance.text)")
            let trial = try #require(balance.json?["trial"] as? [String: Any])
            #expect((trial["available"] as? NSNumber)?.doubleValue == 5)
            #expect(trial["expires_at"] as? String != nil)
            _ = org

            let acmeAdmin = try await adminKey(h)
            let estimate = try await h.request(
                .POST, "/api/orgs/acme/estimate", body: GatewayHarness.chatBody("hi", extra: #","max_tokens":1000"#), key: acmeAdmin)
            #expect(estimate.status == 200, "\(estimate.text)")
            #expect(estimate.json?["billing"] as? String == "credits")
            #expect(estimate.json?["max_output_tokens"] as? Int == 1000)
            #expect(estimate.json?["fits"] as? Bool == true)
            #expect(h.fake.requests.isEmpty, "an estimate runs nothing")

            _ = try await h.chat("hi")
            let ledger = try await h.request(.GET, "/api/orgs/acme/ledger?limit=10", key: acmeAdmin)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(ledger.body)) as? [[String: Any]])
            #expect(entries.map { $0["kind"] as? String ?? "" } == ["release", "settle", "reserve", "grant"])
            #expect(entries.last?["balance_after"] as? NSNumber == 20)
            #expect(entries.allSatisfy { $0["created_at"] as? String != nil })
            #expect(entries[1]["request_id"] as? String == (try await h.usageRecords().first?.requestID))
        }
    }
}

private final class EndFlag: Sendable {
    let value = Atomic<Bool>(false)
}
