import Foundation
import Hummingbird
import KeygateCore
@testable import KeygateServer
import KeygateStore
import KeygateStripe
import Synchronization
import Testing

/// Issue 17, item 4: scheduled BYOK key health checks against the fake provider. A key the provider revokes
/// becomes `invalid` within one cycle, a good key stays active, the operator webhook gets a correctly signed
/// event, and the secret appears in neither the event nor the logs.
@Suite struct BYOKHealthTests {
    static let goodKey = "sk-org-good-key-HEALTH-1a2b3c"
    static let revokedKey = "gsk_org-revoked-key-HEALTH-9z8y7x"
    static let webhookSecret = "whsec_operator_0123456789abcdef"

    /// What the operator's endpoint received.
    struct Delivery: Sendable {
        var signature: String?
        var body: [UInt8]
    }

    final class Deliveries: Sendable {
        let all = Mutex<[Delivery]>([])
    }

    @Test func aRevokedKeyBecomesInvalidWithinOneCycleAndTheOperatorIsTold() async throws {
        let deliveries = Deliveries()
        let router = Router()
        router.post("/hooks/keygate") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let signature = request.headers.first { $0.name.canonicalName == "keygate-signature" }?.value
            deliveries.all.withLock { $0.append(Delivery(signature: signature, body: Array(body.readableBytesView))) }
            return Response(status: .ok)
        }
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let receiver = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) })
        let receiverTask = Task { try await receiver.run() }
        defer { receiverTask.cancel() }
        var portIterator = ports.makeAsyncIterator()
        let hookPort = await portIterator.next() ?? 0
        #expect(hookPort > 0)

        try await withHarness(environment: [
            "KEYGATE_BYOK_HEALTH_INTERVAL": "1s",
            "KEYGATE_OPERATOR_WEBHOOK_URL": "http://127.0.0.1:\(hookPort)/hooks/keygate",
            "KEYGATE_OPERATOR_WEBHOOK_SECRET": Self.webhookSecret,
        ]) { h in
            h.fake.accept(Self.goodKey)
            h.fake.accept(Self.revokedKey)
            let good = try await h.addBYOKKey(Self.goodKey, provider: "openai")
            let doomed = try await h.addBYOKKey(Self.revokedKey, provider: "groq")
            #expect(good.lastValidationResult == "skipped" && doomed.lastValidationResult == "skipped")

            // The first cycle checks both keys with the provider: both accepted.
            let checked = try await waitFor { keys in keys.allSatisfy { $0.lastValidationResult == "ok" } }(h)
            #expect(checked.count == 2 && checked.allSatisfy { $0.status == .active })

            h.fake.revoke(Self.revokedKey)
            let revokedAt = WallClock.nowMs()
            let after = try await waitFor { keys in keys.contains { $0.status == .invalid } }(h)
            let invalid = try #require(after.first { $0.id == doomed.id })
            #expect(invalid.status == .invalid, "\(after)")
            #expect(invalid.lastValidationResult?.contains("scheduled health check (HTTP 401)") == true, "\(invalid)")
            #expect((invalid.lastValidatedAt ?? 0) >= revokedAt)
            #expect(WallClock.nowMs() - revokedAt < 4_000, "within one cycle (1 s interval, 1 s tick)")
            let stillGood = try #require(after.first { $0.id == good.id })
            #expect(stillGood.status == .active && stillGood.lastValidationResult == "ok")

            // The operator's signed event.
            var delivered: [Delivery] = []
            for _ in 0..<200 where delivered.isEmpty {
                delivered = deliveries.all.withLock { $0 }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(delivered.count == 1)
            let event = try #require(delivered.first)
            try StripeWebhookSignature.verify(
                payload: event.body, header: event.signature, secret: Self.webhookSecret, now: WallClock.nowMs() / 1000)
            #expect(
                throws: StripeSignatureError.self,
                "a wrong secret fails"
            ) {
                try StripeWebhookSignature.verify(
                    payload: event.body, header: event.signature, secret: "whsec_wrong_secret_0000", now: WallClock.nowMs() / 1000)
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(event.body)) as? [String: Any])
            #expect(json["type"] as? String == "byok_key.invalid")
            #expect((json["id"] as? String)?.hasPrefix("evt_") == true)
            let data = try #require(json["data"] as? [String: Any])
            #expect(data["key_id"] as? String == doomed.id && data["provider"] as? String == "groq")
            #expect(data["organization"] as? String == "acme" && data["organization_id"] as? String == h.organization.id)
            #expect(data["status"] as? String == "invalid" && data["provider_status"] as? Int == 401)

            let text = String(decoding: event.body, as: UTF8.self)
            #expect(!text.contains(Self.revokedKey) && !text.contains(Self.goodKey) && !text.contains(Self.webhookSecret))
            let logs = h.logs.all.joined(separator: "\n")
            #expect(logs.contains("BYOK key marked invalid"))
            #expect(!logs.contains(Self.revokedKey) && !logs.contains(Self.goodKey) && !logs.contains(Self.webhookSecret))
        }
    }

    @Test func theIntervalIsReadAndCanBeTurnedOff() throws {
        let base = ["KEYGATE_DATA_DIR": "/tmp/unused"]
        #expect(try GatewayConfiguration.fromEnvironment(base).byokHealthInterval == .seconds(6 * 3600))
        #expect(
            try GatewayConfiguration.fromEnvironment(base.merging(["KEYGATE_BYOK_HEALTH_INTERVAL": "90m"]) { $1 }).byokHealthInterval
                == .seconds(5400))
        #expect(
            try GatewayConfiguration.fromEnvironment(base.merging(["KEYGATE_BYOK_HEALTH_INTERVAL": "45"]) { $1 }).byokHealthInterval == .seconds(45))
        #expect(try GatewayConfiguration.fromEnvironment(base.merging(["KEYGATE_BYOK_HEALTH_INTERVAL": "off"]) { $1 }).byokHealthInterval == nil)
        #expect(throws: StartupError.self) {
            try GatewayConfiguration.fromEnvironment(base.merging(["KEYGATE_BYOK_HEALTH_INTERVAL": "soon"]) { $1 })
        }
        #expect(throws: StartupError.self, "a webhook needs its signing secret") {
            try GatewayConfiguration.fromEnvironment(base.merging(["KEYGATE_OPERATOR_WEBHOOK_URL": "https://ops.example/hook"]) { $1 })
        }
    }

    /// The organisation's keys once `done` holds for them (checked every 50 ms, for up to 10 s).
    func waitFor(_ done: @escaping ([BYOKKeyRecord]) -> Bool) -> (GatewayHarness) async throws -> [BYOKKeyRecord] {
        { h in
            var keys: [BYOKKeyRecord] = []
            for _ in 0..<200 {
                keys = try await h.gateway.store.byokKeys(organizationID: h.organization.id)
                if done(keys) { return keys }
                try await Task.sleep(for: .milliseconds(50))
            }
            return keys
        }
    }
}
