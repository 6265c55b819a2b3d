import Foundation
import KeygateCore
import KeygateServer
import Testing

/// No secret (platform provider key, Keygate API key, master key) may reach a log line, a response, or the
/// database files in plaintext.
@Suite struct SecretsTests {
    @Test func secretsAppearInNoLogResponseOrDatabaseFile() async throws {
        let masterKey = Data((0..<32).map { UInt8(200 - $0) }).base64EncodedString()
        try await withHarness(environment: ["KEYGATE_MASTER_KEY": masterKey]) { h in
            var replies: [GatewayHarness.Reply] = []
            replies.append(try await h.chat("hello"))
            replies.append(try await h.chat("hello #fake chunks=2", stream: true, includeUsage: true))
            replies.append(try await h.chat("hello #fake status=400"))
            replies.append(try await h.chat("hello #fake status=500"))
            replies.append(try await h.chat("hello", model: "nope"))
            replies.append(try await h.request(.POST, "/v1/chat/completions", body: "{bad json"))
            replies.append(
                try await h.request(.POST, "/v1/chat/completions", body: GatewayHarness.chatBody("x"), key: String(h.apiKey.dropLast(2)) + "zz"))
            replies.append(try await h.request(.GET, "/v1/models"))
            _ = try await h.usageRecords(atLeast: 6)
            #expect(
                h.fake.requests.contains { $0.headers["authorization"] == "Bearer " + GatewayHarness.platformKey },
                "the platform key did reach the provider, so there was something to leak")

            let secrets = [GatewayHarness.platformKey, h.apiKey, masterKey, String(h.apiKey.suffix(43))]
            for reply in replies {
                var text = reply.text
                for (name, value) in reply.headers { text += "\n\(name): \(value)" }
                for secret in secrets { #expect(!text.contains(secret), "a response leaks a secret") }
            }
            let logText = h.logs.all.joined(separator: "\n")
            #expect(h.logs.all.count >= 6, "requests were logged")
            for secret in secrets { #expect(!logText.contains(secret), "a log line leaks a secret") }

            try await h.gateway.store.checkReachable()
            // Every file the open database consists of must be there and be read: a scan of nothing passes.
            var scanned = Data()
            for name in ["keygate.db", "keygate.db-wal", "keygate.db-shm"] {
                let path = (h.dataDirectory as NSString).appendingPathComponent(name)
                let bytes = try #require(FileManager.default.contents(atPath: path), "\(name) is missing: nothing to scan")
                #expect(!bytes.isEmpty, "\(name) is empty: nothing to scan")
                scanned += bytes
                for secret in secrets {
                    #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds a secret in plaintext")
                }
            }
            #expect(scanned.count > 0, "the scan read the database")
            #expect(scanned.range(of: Data(h.organization.id.utf8)) != nil, "the scan sees what the database holds (the organisation's id)")
        }
    }

    @Test func theConfigurationNeverPrintsItsKeys() throws {
        let secret = "sk-config-secret-0123456789"
        var config = try GatewayConfiguration.fromEnvironment([
            "KEYGATE_PROVIDER_OPENAI_API_KEY": secret, "KEYGATE_MASTER_KEY": "bWFzdGVyLWtleS1zZWNyZXQ=",
        ])
        try config.readProviderSettings(for: try CatalogLoader.builtIn())
        #expect(config.platformKeys["openai"] == secret)
        var dumped = ""
        dump(config, to: &dumped)
        for text in [config.description, String(reflecting: config), "\(config)", dumped] {
            #expect(!text.contains(secret))
            #expect(!text.contains("bWFzdGVyLWtleS1zZWNyZXQ="))
        }
    }
}
