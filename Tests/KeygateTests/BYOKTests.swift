import AsyncHTTPClient
import Crypto
import Foundation
import KeygateCore
@testable import KeygateServer
import KeygateStore
import KeygateVault
import Logging
import NIOCore
import Synchronization
import Testing

/// SPEC §3 and §4: organisations' own keys, and which key each request really reaches the provider with.
@Suite struct BYOKTests {
    static let orgKey = "sk-org-own-key-MARKER-7f3a9c"

    @Test func addingAKeyValidatesItWithTheProvider() async throws {
        try await withHarness { h in
            h.fake.accept(Self.orgKey)
            let key = try await h.addBYOKKey(Self.orgKey, validate: true)
            #expect(key.status == .active && key.provider == "openai" && key.lastValidationResult == "ok")
            #expect(key.preview == "sk-o…" + String(Self.orgKey.suffix(4)))
            #expect(h.lastKeyReceived == Self.orgKey, "validation called the provider with the key")
            #expect(h.fake.requests.last?.path == "/v1/models")

            // A key the provider refuses is not stored, and the message says what to check.
            do {
                try await h.addBYOKKey("sk-revoked-key-0000000000", validate: true)
                Issue.record("a refused key was stored")
            } catch let error as GatewayError {
                #expect(error.code == "byok_key_invalid")
                #expect(error.message.contains("revoked"))
                #expect(!error.message.contains("sk-revoked-key-0000000000"))
            }
            #expect(try await BYOKService(gateway: h.gateway).list(organizationSlug: "acme").count == 1)
        }
    }

    @Test func anUnreachableProviderCannotValidateButNoValidateStores() async throws {
        try await withHarness(environment: [
            "KEYGATE_PROVIDER_GROQ_BASE_URL": "http://127.0.0.1:9/v1", "KEYGATE_PROVIDER_GROQ_CONNECT_TIMEOUT": "0.3",
        ]) { h in
            await #expect(throws: GatewayError.self) { try await h.addBYOKKey("gsk_abcdefghijklmnop", provider: "groq", validate: true) }
            let stored = try await h.addBYOKKey("gsk_abcdefghijklmnop", provider: "groq", validate: false)
            #expect(stored.lastValidationResult == "skipped")
        }
    }

    @Test func structuredCredentialsAreCheckedForShape() async throws {
        try await withHarness { h in
            let service = BYOKService(gateway: h.gateway)
            let cases: [(String, String, String)] = [
                ("aws", #"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}"#, "secret.region"),
                (
                    "aws", #"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"Mars"}"#,
                    "secret.region"
                ),
                (
                    "azure",
                    #"{"endpoint":"http://x.openai.azure.com","apiKey":"0123456789abcdef0123","deploymentName":"d","apiVersion":"2024-10-21"}"#,
                    "secret.endpoint"
                ),
                ("azure", "not json", "secret"),
            ]
            for (provider, secret, param) in cases {
                do {
                    _ = try await service.add(organizationSlug: "acme", provider: provider, secret: .string(secret), validate: true)
                    Issue.record("accepted \(provider) \(secret)")
                } catch let error as GatewayError {
                    #expect(error.param == param, "\(error)")
                    #expect(!error.message.contains("wJalrXUtnFEMI"))
                }
            }
            let aws = try await service.add(
                organizationSlug: "acme", provider: "bedrock",
                secret: .string(
                    #"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"us-east-1"}"#),
                validate: false)
            #expect(aws.provider == "aws" && aws.preview == "wJal…EKEY" && aws.lastValidationResult == "skipped")
        }
    }

    @Test func awsKeysAreCheckedWithASignedBedrockCall() async throws {
        try await withHarness { h in
            let secret = #"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"us-east-1"}"#
            do {
                try await h.addBYOKKey(secret, provider: "aws", validate: true)
                Issue.record("an access key id the provider does not know was accepted")
            } catch let error as GatewayError {
                #expect(error.code == "byok_key_invalid")
                #expect(!error.message.contains("wJalrXUtnFEMI"))
            }
            let call = try #require(h.fake.requests.last)
            #expect(call.path == "/model/global.anthropic.claude-opus-5/count-tokens")
            #expect(call.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/") == true)
            #expect(call.headers["authorization"]?.contains("/us-east-1/bedrock/aws4_request") == true)
            #expect(call.headers["authorization"]?.contains("wJalrXUtnFEMI") == false)
            h.fake.accept("AKIAIOSFODNN7EXAMPLE")
            let stored = try await h.addBYOKKey(secret, provider: "aws", validate: true)
            #expect(stored.lastValidationResult == "ok")
        }
    }

    @Test func anAzureKeyRunsOnItsDeployment() async throws {
        try await withHarness { h in
            h.fake.accept("0123456789abcdef0123456789abcdef")
            let secret =
                #"{"endpoint":"https://acme.openai.azure.com","apiKey":"0123456789abcdef0123456789abcdef","deploymentName":"luna-prod","apiVersion":"2024-10-21"}"#
            let key = try await h.addBYOKKey(secret, provider: "azure", validate: true)
            #expect(key.lastValidationResult == "ok" && key.preview == "0123…cdef")
            #expect(h.fake.requests.last?.path == "/openai/models")
            let reply = try await h.request(
                .POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi", model: "gpt-5.6-luna"),
                headers: [("x-byok-provider", "azure")])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            let sent = try #require(h.fake.requests.last)
            #expect(sent.path == "/openai/deployments/luna-prod/chat/completions" && sent.query == "api-version=2024-10-21")
            #expect(sent.headers["api-key"] == "0123456789abcdef0123456789abcdef" && sent.headers["authorization"] == nil)
            #expect(sent.json?["model"] as? String == "luna-prod")
        }
    }

    @Test func routingMatrix() async throws {
        try await withHarness { h in
            h.fake.accept(Self.orgKey)
            // No key: platform key, credits.
            var reply = try await h.chat("hi")
            #expect(reply.headers.first(name: "x-keygate-billing") == "credits")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)

            // A key for the provider: every model of that provider goes BYOK.
            let key = try await h.addBYOKKey(Self.orgKey)
            for model in ["openai/gpt-5.6-luna", "gpt-5.5"] {
                reply = try await h.chat("hi", model: model)
                #expect(reply.status == 200)
                #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
                #expect(reply.headers.first(name: "x-keygate-byok-key") == key.preview)
                #expect(h.lastKeyReceived == Self.orgKey)
            }
            // Streams too.
            reply = try await h.chat("hi #fake chunks=2", stream: true)
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            #expect(h.lastKeyReceived == Self.orgKey)
            // Another provider is unaffected.
            _ = try await h.chat("hi", model: "groq/openai/gpt-oss-120b")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)

            // Deactivate: the very next request falls back to the platform; activate: BYOK again; remove: platform.
            let service = BYOKService(gateway: h.gateway)
            _ = try await service.setActive(organizationSlug: "acme", keyID: key.id, active: false)
            reply = try await h.chat("hi")
            #expect(reply.headers.first(name: "x-keygate-billing") == "credits")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)
            _ = try await service.setActive(organizationSlug: "acme", keyID: key.id, active: true)
            _ = try await h.chat("hi")
            #expect(h.lastKeyReceived == Self.orgKey)
            try await service.remove(organizationSlug: "acme", keyID: key.id)
            _ = try await h.chat("hi")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)

            let records = try await h.usageRecords(atLeast: 10)
            let byok = records.filter(\.byok)
            #expect(byok.count == 4)
            #expect(byok.allSatisfy { $0.billing == .byok && $0.byokKeyID == key.id })
        }
    }

    @Test func aFreeModelStillGoesThroughTheOrganisationsKey() async throws {
        try await withHarness { h in
            _ = try await h.chat("hi", model: "nvidia/meta/llama-3.1-8b-instruct")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)
            h.fake.accept("nvapi-org-key-123456789")
            try await h.addBYOKKey("nvapi-org-key-123456789", provider: "nvidia")
            let reply = try await h.chat("hi", model: "nvidia/meta/llama-3.1-8b-instruct")
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            #expect(h.lastKeyReceived == "nvapi-org-key-123456789")
        }
    }

    @Test func aForcedProviderNeedsAKeyAndTakesAnyModel() async throws {
        try await withHarness { h in
            let body = GatewayHarness.chatBody("hi", model: "anthropic/claude-sonnet-5")
            let missing = try await h.request(.POST, "/v1/chat/completions", body: body, headers: [("x-byok-provider", "openrouter")])
            #expect(missing.status == 400)
            #expect(missing.error?["code"] as? String == "byok_key_missing")
            #expect((missing.error?["message"] as? String)?.contains("keygate byok add --org acme --provider openrouter") == true)
            #expect(h.fake.requests.isEmpty, "never silently billed to the platform")

            h.fake.accept("sk-or-v1-org-key-123456")
            try await h.addBYOKKey("sk-or-v1-org-key-123456", provider: "openrouter")
            let reply = try await h.request(.POST, "/v1/chat/completions", body: body, headers: [("x-byok-provider", "openrouter")])
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "x-keygate-billing") == "byok")
            #expect(h.lastKeyReceived == "sk-or-v1-org-key-123456")
            #expect(h.fake.requests.last?.json?["model"] as? String == "anthropic/claude-sonnet-5", "OpenRouter gets its own model name")

            let unknown = try await h.request(.POST, "/v1/chat/completions", body: body, headers: [("x-byok-provider", "nowhere")])
            #expect(unknown.status == 400 && unknown.error?["code"] as? String == "unknown_provider")
        }
    }

    @Test func aKeyTheProviderRefusesIsReportedAndMarkedInvalidWithoutFallingBack() async throws {
        try await withHarness { h in
            let key = try await h.addBYOKKey(Self.orgKey)  // stored unchecked; the fake does not accept it
            let reply = try await h.chat("hi")
            #expect(reply.status == 403)
            #expect(reply.error?["code"] as? String == "byok_key_rejected")
            let message = reply.error?["message"] as? String ?? ""
            #expect(message.contains("openai") && message.contains(key.preview))
            #expect(!reply.text.contains(Self.orgKey))
            #expect(try await BYOKService(gateway: h.gateway).list(organizationSlug: "acme").first?.status == .invalid)
            // Still the organisation's key, still a clear error: never a silent switch to platform billing.
            let again = try await h.chat("hi")
            #expect(again.status == 403)
            #expect(h.fake.requests.allSatisfy { $0.headers["authorization"] == "Bearer " + Self.orgKey })
            // Once the provider accepts it again, it works and is active again after re-adding or activating.
            h.fake.accept(Self.orgKey)
            _ = try await BYOKService(gateway: h.gateway).setActive(organizationSlug: "acme", keyID: key.id, active: true)
            #expect(try await h.chat("hi").status == 200)
        }
    }

    @Test func aRateLimitedKeyPassesThe429OnUnlessTheOrganisationOptedIntoFallback() async throws {
        try await withHarness { h in
            h.fake.accept(Self.orgKey)
            try await h.addBYOKKey(Self.orgKey)
            let content = "hi #fake status=429 retry_after=9 only_key=\(Self.orgKey)"
            let limited = try await h.chat(content)
            #expect(limited.status == 429)
            #expect(limited.headers.first(name: "retry-after") == "9")
            #expect(limited.headers.first(name: "x-keygate-billing") == "byok")

            try await h.gateway.store.setOrganizationSettings(OrganizationSettings(byokFallbackOnRateLimit: true), organizationID: h.organization.id)
            let fellBack = try await h.chat(content)
            #expect(fellBack.status == 200)
            #expect(fellBack.headers.first(name: "x-keygate-billing") == "credits")
            let keys = h.fake.requests.suffix(2).map { $0.headers["authorization"] }
            #expect(keys == ["Bearer " + Self.orgKey, "Bearer " + GatewayHarness.platformKey])
        }
    }

    @Test func oneOrganisationsKeyIsNeverUsedForAnother() async throws {
        try await withHarness { h in
            h.fake.accept(Self.orgKey)
            try await h.addBYOKKey(Self.orgKey)
            let admin = AdminService(store: h.gateway.store)
            let globex = try await admin.createOrganization(slug: "globex", name: nil)
            try await h.gateway.store.addCredits(organizationID: globex.id, amount: .credits(10), kind: .grant, reason: nil, trialExpiresAt: nil)
            let (_, globexKey) = try await admin.createAPIKey(organizationSlug: "globex", name: nil, isAdmin: false)
            let reply = try await h.request(.POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi"), key: globexKey)
            #expect(reply.headers.first(name: "x-keygate-billing") == "credits")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)
            let forced = try await h.request(
                .POST, "/v1/chat/completions", body: GatewayHarness.chatBody("hi"), key: globexKey,
                headers: [("x-byok-provider", "openai")])
            #expect(forced.status == 400)
        }
    }

    @Test func keysNeverLeakIntoTheDatabaseLogsOrResponses() async throws {
        let marker = "sk-LEAKMARKER-q8w7e6r5t4y3"
        let awsSecret = "LEAKMARKERaws/K7MDENG/bPxRfiCYEXAMPLE01"
        try await withHarness(environment: ["KEYGATE_LOG_LEVEL": "trace"]) { h in
            var texts: [String] = []
            h.fake.accept(marker)
            try await h.addBYOKKey(marker)
            try await h.addBYOKKey(#"{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"\#(awsSecret)","region":"us-east-1"}"#, provider: "aws")
            for reply in [
                try await h.chat("hi"), try await h.chat("hi #fake chunks=2", stream: true, includeUsage: true),
                try await h.chat("hi #fake status=400"), try await h.chat("hi #fake status=429 retry_after=1"),
                try await h.request(.POST, "/v1/chat/completions", body: "{bad"),
            ] {
                texts.append(reply.text + "\n" + reply.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n"))
            }
            h.fake.revoke(marker)
            let rejected = try await h.chat("hi")
            #expect(rejected.status == 403)
            texts.append(rejected.text)
            do { try await h.addBYOKKey(marker + "x", validate: true) } catch { texts.append("\(error)") }
            let listed = try await BYOKService(gateway: h.gateway).list(organizationSlug: "acme")
            texts.append(listed.map { "\($0)" }.joined())
            _ = try await h.usageRecords(atLeast: 6)
            try await h.gateway.store.checkReachable()

            let logText = h.logs.all.joined(separator: "\n")
            // Every file the open database consists of must be there and be read: a scan of nothing passes.
            var files: [(name: String, bytes: Data)] = []
            for name in ["keygate.db", "keygate.db-wal", "keygate.db-shm"] {
                let bytes = try #require(
                    FileManager.default.contents(atPath: (h.dataDirectory as NSString).appendingPathComponent(name)),
                    "\(name) is missing: nothing to scan")
                #expect(!bytes.isEmpty, "\(name) is empty: nothing to scan")
                files.append((name, bytes))
            }
            #expect(
                files.contains { $0.bytes.range(of: Data(SecretPreview.make(marker).utf8)) != nil },
                "the scan sees what the database holds (the key's preview)")
            for secret in [marker, awsSecret, String(marker.dropFirst(3).prefix(12))] {
                for text in texts { #expect(!text.contains(secret), "a response leaks a key") }
                #expect(!logText.contains(secret), "a log line leaks a key")
                for (name, bytes) in files {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds a key in plaintext")
                }
            }
            #expect(texts.joined().contains(SecretPreview.make(marker)), "only the preview is shown")
        }
    }

    @Test func aStoredKeyUnderAnotherMasterKeyStopsStart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kg-mk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = Data(repeating: 1, count: 32).base64EncodedString()
        let second = Data(repeating: 2, count: 32).base64EncodedString()
        var config = try GatewayConfiguration.fromEnvironment(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": first])
        var gateway = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
        _ = try await AdminService(store: gateway.store).createOrganization(slug: "acme", name: nil)
        _ = try await BYOKService(gateway: gateway).add(organizationSlug: "acme", provider: "openai", secret: .string(Self.orgKey), validate: false)
        await gateway.shutdown()

        config = try GatewayConfiguration.fromEnvironment(["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": second])
        do {
            gateway = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
            await gateway.shutdown()
            Issue.record("started with the wrong master key")
        } catch let error as StartupError {
            #expect(error.description.contains("KEYGATE_MASTER_KEY"))
            #expect(!error.description.contains(first) && !error.description.contains(second))
        }
        // With the old key as the previous one (a rotation in progress), it starts and still reads the key.
        config = try GatewayConfiguration.fromEnvironment([
            "KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": second, "KEYGATE_MASTER_KEY_PREVIOUS": first,
        ])
        gateway = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
        let org = try #require(try await gateway.store.organization(slug: "acme"))
        let key = try await gateway.byokKeys.key(organizationID: org.id, provider: "openai")
        #expect(key?.secret == Self.orgKey)
        await gateway.shutdown()
    }

    @Test func rotatingTheMasterKeyUnderLoadLosesNoRequest() async throws {
        let old = MasterKey(key: SymmetricKey(data: Data(repeating: 7, count: 32)), origin: .environment)
        let new = Data(repeating: 8, count: 32).base64EncodedString()
        let oldBase64 = Data(repeating: 7, count: 32).base64EncodedString()
        try await withHarness(environment: ["KEYGATE_MASTER_KEY": new, "KEYGATE_MASTER_KEY_PREVIOUS": oldBase64]) { h in
            // Keys stored earlier, under the old master key.
            h.fake.accept(Self.orgKey)
            let oldRing = MasterKeyring(current: old)
            for (index, provider) in ["openai", "groq", "moonshot", "openrouter"].enumerated() {
                let id = "byok_old\(index)"
                let secret = provider == "openai" ? Self.orgKey : "sk-\(provider)-key-0123456789"
                let sealed = try SecretVault.seal(
                    secret, binding: SecretBinding(organizationID: h.organization.id, provider: provider, keyID: id), keyring: oldRing)
                try await h.gateway.store.addBYOKKey(
                    BYOKKeyRecord(
                        id: id, organizationID: h.organization.id, provider: provider, ciphertext: sealed.combined,
                        masterKeyID: sealed.masterKeyID, preview: SecretPreview.make(secret), status: .active, createdAt: 1))
            }
            let newID = h.gateway.keyring.current.fingerprint
            #expect(old.fingerprint != newID)
            #expect(try await h.gateway.store.allBYOKKeys().allSatisfy { $0.masterKeyID == old.fingerprint }, "sealed under the old key")
            // With old and new both configured, a key sealed under the old one still opens.
            #expect(try await h.gateway.byokKeys.key(organizationID: h.organization.id, provider: "openai")?.secret == Self.orgKey)

            // Requests keep flowing (each one re-reads the key: the cache is dropped by the rotation too). The
            // rotation starts once some have been answered, and requests go on until some more have been
            // answered after it, so the load surely spans it.
            final class Load: Sendable {
                let state = Mutex((answered: 0, rotated: false, answeredBeforeRotation: 0, answeredAfterRotation: 0))
            }
            let load = Load()
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                group.addTask {
                    var statuses: [Int] = []
                    // (Bounded, so a failed rotation ends the test instead of hanging it.)
                    while (statuses.count < 40 || load.state.withLock({ $0.answeredAfterRotation }) < 5) && statuses.count < 1000 && !Task.isCancelled
                    {
                        let rotatedBefore = load.state.withLock { $0.rotated }
                        let reply = try await h.chat("hi")
                        statuses.append(reply.headers.first(name: "x-keygate-billing") == "byok" ? reply.status : -1)
                        load.state.withLock {
                            $0.answered += 1
                            if rotatedBefore { $0.answeredAfterRotation += 1 }
                        }
                    }
                    return statuses
                }
                group.addTask {
                    while load.state.withLock({ $0.answered }) < 5 { try await Task.sleep(for: .milliseconds(2)) }
                    load.state.withLock { $0.answeredBeforeRotation = $0.answered }
                    #expect(try await BYOKService(gateway: h.gateway).rotateMasterKey() == 4)
                    load.state.withLock { $0.rotated = true }
                    return []
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(statuses.count >= 40 && statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            let (before, after) = load.state.withLock { ($0.answeredBeforeRotation, $0.answeredAfterRotation) }
            #expect(before >= 5, "requests were answered with the keys still sealed under the old master key")
            #expect(after >= 5, "requests were answered with the keys re-sealed under the new one")
            let records = try await h.gateway.store.allBYOKKeys()
            #expect(records.count == 4 && records.allSatisfy { $0.masterKeyID == newID }, "re-sealed under the new key's id")
            #expect(try await BYOKService(gateway: h.gateway).rotateMasterKey() == 0, "a second run has nothing left to do")

            // Now the new key alone is enough.
            let config = try GatewayConfiguration.fromEnvironment(["KEYGATE_DATA_DIR": h.dataDirectory, "KEYGATE_MASTER_KEY": new])
            let alone = try await Bootstrap.gateway(config, logger: Logger(label: "test"))
            #expect(try await alone.byokKeys.key(organizationID: h.organization.id, provider: "openai")?.secret == Self.orgKey)
            await alone.shutdown()
        }
    }
}
