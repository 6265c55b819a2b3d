import AsyncHTTPClient
import Foundation
import KeygateCore
@testable import KeygateServer
import KeygateStore
import NIOCore
import Testing

/// The figures of the tiers report, against hand-computed ones.
@Suite struct TierCostStatisticsTests {
    @Test func medianP90AndMaxAreNearestRankOfTheChargedCredits() {
        // Sorted: 1, 1, 3, 4, 5 credits. Median: rank ⌈0.5 × 5⌉ = 3 → 3; p90: rank ⌈0.9 × 5⌉ = 5 → 5.
        let five = TierCostStatistics(charged: [3, 1, 4, 1, 5].map { MicroCredits.credits($0) }, listPrice: PicoUSD(12_500_001))
        #expect(five.count == 5 && five.median == .credits(3) && five.p90 == .credits(5) && five.maximum == .credits(5))
        #expect(five.totalCharged == .credits(14))
        // 12,500,001 pUSD is 1,250.0001 µcredits: rounded up.
        #expect(five.listPrice == MicroCredits(1_251))
        // Ten jobs of 10…100 credits: median rank 5 → 50, p90 rank 9 → 90.
        let ten = TierCostStatistics(charged: (1...10).reversed().map { MicroCredits.credits(Int64($0) * 10) }, listPrice: .zero)
        #expect(ten.median == .credits(50) && ten.p90 == .credits(90) && ten.maximum == .credits(100))
        let none = TierCostStatistics(charged: [], listPrice: .zero)
        #expect(none.count == 0 && none.median == .zero && none.p90 == .zero && none.maximum == .zero)
    }

    @Test func theTiersFileIsCheckedField() throws {
        let tiers = try JobTierLoader.parse(
            Data(#"{"tiers":[{"name":"quick-scan","typical":14,"min":10,"max":30},{"name":"deep","typical":200,"min":100,"max":400.5}]}"#.utf8))
        #expect(tiers.map(\.name) == ["quick-scan", "deep"] && tiers[1].maximum == MicroCredits(400_500_000))
        for bad in [
            #"{"tiers":[{"name":"a","typical":5,"min":10,"max":30}]}"#, #"{"tiers":[{"name":"A b","typical":14,"min":10,"max":30}]}"#,
            #"{"tiers":[{"name":"a","typical":14,"min":10,"max":30,"x":1}]}"#, #"{"tiers":{}}"#,
            #"{"tiers":[{"name":"a","typical":"14","min":10,"max":30}]}"#,
        ] {
            #expect(throws: JobTierError.self) { try JobTierLoader.parse(Data(bad.utf8)) }
        }
        #expect(throws: StartupError.self) { try GatewayConfiguration.fromEnvironment(["KEYGATE_FAILED_JOB_POLICY": "maybe"]) }
        #expect(try GatewayConfiguration.fromEnvironment(["KEYGATE_FAILED_JOB_POLICY": "charge"]).failedJobPolicy == .charge)
    }
}

/// Jobs through the API and the call pipeline (SPEC §5): open, calls billed to the job with `x-keygate-job`,
/// receipt, complete / fail, refusals before any provider call.
@Suite struct JobsAPITests {
    func adminKey(_ h: GatewayHarness) async throws -> String {
        try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true).plaintext
    }

    func openJob(_ h: GatewayHarness, admin: String, _ body: String) async throws -> GatewayHarness.Reply {
        try await h.request(.POST, "/api/orgs/acme/jobs", body: body, key: admin)
    }

    func jobChat(
        _ h: GatewayHarness, job: String, _ content: String = "hi", extra: String = #","max_tokens":500"#
    ) async throws
        -> GatewayHarness.Reply
    {
        try await h.request(.POST, "/v1/chat/completions", body: GatewayHarness.chatBody(content, extra: extra), headers: [("x-keygate-job", job)])
    }

    @Test func aJobHoldsItsAmountPaysItsCallsAndReturnsTheRest() async throws {
        try await withHarness { h in
            let admin = try await adminKey(h)
            let store = h.gateway.store
            let opened = try await openJob(h, admin: admin, #"{"credits": 10, "metadata": {"pr": "7"}, "expires_in": 600}"#)
            #expect(opened.status == 201, "\(opened.text)")
            let id = try #require(opened.json?["id"] as? String)
            #expect(opened.json?["status"] as? String == "open" && (opened.json?["reserved"] as? Double) == 10)
            #expect((opened.json?["metadata"] as? [String: String]) == ["pr": "7"] && opened.json?["expires_at"] is String)
            let balance = try await h.request(.GET, "/api/orgs/acme/balance", key: admin)
            #expect((balance.json?["reserved"] as? Double) == 10 && (balance.json?["available"] as? Double) == 990)

            var charged: Int64 = 0
            for content in ["hi", "hi #fake chunks=3"] {
                let reply = try await jobChat(h, job: id, content)
                #expect(reply.status == 200)
                charged += MicroCredits(creditsText: reply.headers.first(name: "x-keygate-credits-charged") ?? "")?.value ?? -1
            }
            // A stream, through the Anthropic endpoint, also billed to the job.
            let messages = try await h.request(
                .POST, "/v1/messages",
                body: #"{"model":"openai/gpt-5.6-luna","max_tokens":300,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: [("x-keygate-job", id), ("anthropic-version", "2023-06-01")])
            #expect(messages.status == 200, "\(messages.text)")
            charged += MicroCredits(creditsText: messages.headers.first(name: "x-keygate-credits-charged") ?? "")?.value ?? -1
            #expect(charged > 0)
            var account = try await store.balance(organizationID: h.organization.id)
            #expect(account.available == .credits(990), "calls are paid from the job's hold, never from available")

            let receipt = try await h.request(.GET, "/api/orgs/acme/jobs/\(id)", key: admin)
            #expect(receipt.status == 200)
            let calls = try #require(receipt.json?["calls"] as? [[String: Any]])
            #expect(calls.count == 3 && calls.allSatisfy { $0["model"] as? String == "openai/gpt-5.6-luna" && $0["byok"] as? Bool == false })
            let totals = try #require(receipt.json?["totals_by_model"] as? [[String: Any]])
            #expect(totals.count == 1 && totals.first?["calls"] as? Int == 3)
            #expect(try await h.usageRecords(atLeast: 3).allSatisfy { $0.jobID == id })

            let completed = try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/complete", key: admin)
            #expect(completed.status == 200 && completed.json?["status"] as? String == "completed")
            account = try await store.balance(organizationID: h.organization.id)
            #expect(account.reserved == .zero && account.available == MicroCredits(1_000_000_000 - charged), "the rest came back at once")
            let job = try #require(try await store.job(id: id, organizationID: h.organization.id))
            #expect(job.charged == MicroCredits(charged))

            // Closed: a call naming it is refused before any provider call, and so is a second close.
            let before = h.fake.requests.count
            let late = try await jobChat(h, job: id)
            #expect(late.status == 409 && late.error?["code"] as? String == "job_closed")
            #expect(try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/fail", key: admin).status == 409)
            #expect(h.fake.requests.count == before)
            let list = try await h.request(.GET, "/api/orgs/acme/jobs?status=completed", key: admin)
            #expect((list.body.isEmpty ? [] : (try JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]]) ?? []).count == 1)
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func anotherOrganisationsJobIsNotFoundAndAnExhaustedJobIs402() async throws {
        try await withHarness { h in
            let admin = try await adminKey(h)
            let store = h.gateway.store
            let other = try await store.createOrganization(slug: "other", name: "Other")
            try await store.addCredits(organizationID: other.id, amount: .credits(50), kind: .grant, reason: nil, trialExpiresAt: nil)
            guard
                case .opened(let foreign) = try await store.openJob(
                    JobOpening(id: "job_foreign", organizationID: other.id, amount: .credits(50), tier: nil, metadata: [:], expiresAt: Int64.max / 2))
            else { Issue.record("not opened"); return }
            let refused = try await jobChat(h, job: foreign.id)
            #expect(refused.status == 404 && refused.error?["code"] as? String == "job_not_found")
            #expect(try await h.request(.GET, "/api/orgs/acme/jobs/\(foreign.id)", key: admin).status == 404)
            #expect(try await h.request(.POST, "/api/orgs/acme/jobs/\(foreign.id)/complete", key: admin).status == 404)
            #expect(h.fake.requests.isEmpty)
            #expect(try await h.usageRecords().first?.jobID == nil, "another organisation's job is not named on the record")

            let small = try await openJob(h, admin: admin, #"{"credits": 0.0001}"#)
            let id = try #require(small.json?["id"] as? String)
            let exhausted = try await jobChat(h, job: id, extra: #","max_tokens":1000"#)
            #expect(exhausted.status == 402 && exhausted.error?["code"] as? String == "job_exhausted")
            let exhaustedMessage = exhausted.error?["message"] as? String ?? ""
            #expect(exhaustedMessage.contains(id) && exhaustedMessage.contains("0.0001"), "\(exhaustedMessage)")
            #expect(h.fake.requests.isEmpty)
            #expect(try await store.balance(organizationID: h.organization.id).available == MicroCredits(1_000_000_000 - 100))

            // Too much for the balance, or a bad body: 402 / 400, nothing held.
            let tooMuch = try await openJob(h, admin: admin, #"{"credits": 5000}"#)
            #expect(tooMuch.status == 402 && tooMuch.error?["code"] as? String == "insufficient_credits")
            let tooMuchMessage = tooMuch.error?["message"] as? String ?? ""
            #expect(tooMuchMessage.contains("5000.00") && tooMuchMessage.contains("999.9999 available"), "\(tooMuchMessage)")
            for body in [
                #"{}"#, #"{"credits": -1}"#, #"{"credits": 1, "tier": "x"}"#, #"{"credits": "1"}"#, #"{"tier": "nope"}"#,
                #"{"credits": 1, "metadata": {"a": 1}}"#, #"{"credits": 1, "expires_in": 0}"#, #"{"credits": 1, "color": "red"}"#,
            ] {
                let reply = try await openJob(h, admin: admin, body)
                #expect(reply.status == 400, "\(body): \(reply.text)")
            }
            // Opening needs an admin key, like every change of the organisation's API.
            #expect(try await h.request(.POST, "/api/orgs/acme/jobs", body: #"{"credits": 1}"#).status == 403)
            #expect(try await store.balance(organizationID: h.organization.id).reserved == MicroCredits(100))
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    @Test func aFailedJobIsRefundedByDefaultOrChargedByPolicy() async throws {
        for policy in ["refund", "charge"] {
            try await withHarness(environment: ["KEYGATE_FAILED_JOB_POLICY": policy]) { h in
                let admin = try await adminKey(h)
                let id = try #require(try await openJob(h, admin: admin, #"{"credits": 5}"#).json?["id"] as? String)
                #expect(try await jobChat(h, job: id).status == 200)
                let job = try #require(try await h.gateway.store.job(id: id, organizationID: h.organization.id))
                #expect(job.charged.value > 0)
                let failed = try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/fail", key: admin)
                #expect(failed.status == 200 && failed.json?["status"] as? String == "failed")
                let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
                let kinds = try await h.gateway.store.ledgerEntries(organizationID: h.organization.id, limit: 10).map(\.kind)
                if policy == "refund" {
                    #expect(balance.available == .credits(1000) && kinds.first == .refund)
                } else {
                    #expect(balance.available == MicroCredits(1_000_000_000 - job.charged.value) && !kinds.contains(.refund))
                }
                #expect(balance.reserved == .zero)
                #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
            }
        }
    }

    @Test func aBYOKCallInAJobChargesOnlyItsFee() async throws {
        try await withHarness(environment: ["KEYGATE_BYOK_FEE_PERCENT": "10"]) { h in
            let admin = try await adminKey(h)
            h.fake.accept("sk-org-own-key-0123456789")
            try await h.addBYOKKey("sk-org-own-key-0123456789")
            let id = try #require(try await openJob(h, admin: admin, #"{"credits": 5}"#).json?["id"] as? String)
            let reply = try await jobChat(h, job: id)
            #expect(reply.status == 200 && reply.headers.first(name: "x-keygate-billing") == "byok")
            let job = try #require(try await h.gateway.store.job(id: id, organizationID: h.organization.id))
            // luna list price 768 µcredits; the 10 % fee rounds up to 77.
            #expect(job.charged == MicroCredits(77) && job.remaining == MicroCredits(5_000_000 - 77))
            _ = try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/complete", key: admin)
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).available == MicroCredits(1_000_000_000 - 77))
        }
    }

    /// The tiers report against a hand-computed set: five completed "review" jobs charged 3, 1, 4, 1 and 5
    /// credits, one still open (not counted), list price 2.5 µUSD of tokens each.
    @Test func theTiersReportShowsWhatCompletedJobsCost() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiers-\(UUID().uuidString).json")
        try Data(#"{"tiers":[{"name":"review","typical":3,"min":1,"max":10},{"name":"deep","typical":200,"min":100,"max":400}]}"#.utf8)
            .write(to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withHarness(environment: ["KEYGATE_TIERS": dir.path]) { h in
            let admin = try await adminKey(h)
            let store = h.gateway.store
            let org = h.organization.id
            var ids: [String] = []
            for (index, cost) in [3, 1, 4, 1, 5, 2].enumerated() {
                let opened = try await openJob(h, admin: admin, #"{"tier": "review"}"#)
                #expect((opened.json?["reserved"] as? Double) == 10, "a tier's job holds its upper bound")
                let id = try #require(opened.json?["id"] as? String)
                ids.append(id)
                _ = try await store.reserveJobCall(
                    jobID: id, organizationID: org, requestID: "r\(index)", amount: .credits(10), instanceID: "i", leaseExpiresAt: Int64.max / 2)
                let record = UsageRecord(
                    requestID: "r\(index)", organizationID: org, apiKeyID: h.apiKeyID, model: "openai/gpt-5.6-luna", provider: "openai",
                    byok: false, billing: .credits, usage: .zero, costUSD: PicoUSD(2_500_000), creditsCharged: .credits(Int64(cost)),
                    latencyMs: 1, timeToFirstTokenMs: nil, stream: false, status: 200, errorCode: nil, createdAt: WallClock.nowMs(), jobID: id)
                _ = try await store.settleJobCall(requestID: "r\(index)", cost: .credits(Int64(cost)), fee: .zero, record: record)
                if index < 5 { #expect(try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/complete", key: admin).status == 200) }
            }
            let reply = try await h.request(.GET, "/api/orgs/acme/tiers", key: admin)
            #expect(reply.status == 200)
            let tiers = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [[String: Any]])
            #expect(tiers.map { $0["name"] as? String } == ["review", "deep"])
            let review = try #require(tiers.first?["completed_jobs"] as? [String: Any])
            #expect(review["count"] as? Int == 5)
            #expect(review["median"] as? Double == 3 && review["p90"] as? Double == 5 && review["max"] as? Double == 5)
            #expect(review["total_charged"] as? Double == 14)
            // 5 × 2,500,000 pUSD = 12.5 µUSD = 1,250 µcredits.
            #expect(review["list_price"] as? Double == 0.00125)
            #expect((tiers.last?["completed_jobs"] as? [String: Any])?["count"] as? Int == 0)
            let unknown = try await openJob(h, admin: admin, #"{"tier": "huge"}"#)
            #expect(unknown.status == 400 && unknown.error?["code"] as? String == "unknown_tier")
            #expect(try await store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// The issue's test through the server: a 100-credit job, 30 calls at once each estimated at 7 credits
    /// (the minimum reservation), all in flight together for 1.5 s: 14 fit, the others get 402 `job_exhausted`
    /// without reaching the provider (more may run once earlier ones returned their holds), the organisation's
    /// available never moves, and the ledger holds.
    @Test func thirtyConcurrentCallsOfOneJobNeverOverspendIt() async throws {
        try await withHarness(environment: ["KEYGATE_MIN_RESERVATION_CREDITS": "7"]) { h in
            let admin = try await adminKey(h)
            let id = try #require(try await openJob(h, admin: admin, #"{"credits": 100}"#).json?["id"] as? String)
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        var request = HTTPClientRequest(url: h.baseURL + "/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "authorization", value: "Bearer " + h.apiKey)
                        request.headers.add(name: "x-keygate-job", value: id)
                        request.body = .bytes(
                            ByteBuffer(string: GatewayHarness.chatBody("hi #fake first_byte_delay_ms=1500", extra: #","max_tokens":5"#)))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let body = try await response.body.collect(upTo: 1 << 20)
                        return (Int(response.status.code), String(buffer: body))
                    }
                }
                return try await group.reduce(into: [(Int, String)]()) { $0.append($1) }
            }
            try await client.shutdown()
            let accepted = replies.filter { $0.0 == 200 }.count
            let exhausted = replies.filter { $0.0 == 402 && $0.1.contains("job_exhausted") }.count
            #expect(accepted >= 14 && exhausted > 0 && accepted + exhausted == 30, "\(replies.map(\.0))")
            #expect(h.fake.requests.count == accepted, "a refused call never reached the provider")
            let job = try #require(try await h.gateway.store.job(id: id, organizationID: h.organization.id))
            #expect(job.inFlight == .zero && job.remaining.value == 100_000_000 - job.charged.value && job.remaining.value >= 0)
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.available == .credits(900) && balance.reserved == job.remaining, "calls never touch available")
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty)
        }
    }

    /// The sweeper completes a job past its `expires_at`; a call naming it before then is refused as expired.
    @Test func theSweeperCompletesAnExpiredJob() async throws {
        try await withHarness { h in
            let admin = try await adminKey(h)
            let id = try #require(try await openJob(h, admin: admin, #"{"credits": 5, "expires_in": 1}"#).json?["id"] as? String)
            #expect(try await jobChat(h, job: id).status == 200)
            try await Task.sleep(for: .milliseconds(1_100))
            let expired = try await jobChat(h, job: id)
            let message = expired.error?["message"] as? String ?? ""
            #expect(expired.status == 409 && message.contains("is expired"), "\(expired.text)")
            await h.gateway.sweeper.sweep()
            let job = try #require(try await h.gateway.store.job(id: id, organizationID: h.organization.id))
            #expect(job.status == .completed && job.remaining == .zero && job.charged.value > 0)
            let balance = try await h.gateway.store.balance(organizationID: h.organization.id)
            #expect(balance.reserved == .zero && balance.available == MicroCredits(1_000_000_000 - job.charged.value))
        }
    }

    /// Completing waits for a call in flight to settle into the job first.
    @Test func callsInFlightSettleIntoTheJobBeforeItCloses() async throws {
        try await withHarness { h in
            let admin = try await adminKey(h)
            let id = try #require(try await openJob(h, admin: admin, #"{"credits": 5}"#).json?["id"] as? String)
            async let slow = jobChat(h, job: id, "hi #fake first_byte_delay_ms=600")
            try await Task.sleep(for: .milliseconds(200))
            let completed = try await h.request(.POST, "/api/orgs/acme/jobs/\(id)/complete", key: admin)
            #expect(try await slow.status == 200)
            #expect(completed.status == 200 && (completed.json?["charged"] as? Double ?? 0) > 0, "\(completed.text)")
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).reserved == .zero)
        }
    }
}
