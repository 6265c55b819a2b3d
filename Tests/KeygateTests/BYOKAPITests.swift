import Foundation
import KeygateCore
import KeygateServer
import Testing

/// `/api/orgs/{slug}/byok-keys` with admin keys; another organisation sees 404s only.
@Suite struct BYOKAPITests {
    static let secret = "sk-api-added-key-MARKER-55aa"

    @Test func anAdminManagesItsOrganisationsKeysAndNeverSeesASecret() async throws {
        try await withHarness { h in
            let (_, admin) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true)
            h.fake.accept(Self.secret)
            let added = try await h.request(.POST, "/api/orgs/acme/byok-keys", body: #"{"provider":"openai","secret":"\#(Self.secret)"}"#, key: admin)
            #expect(added.status == 201, "\(added.text)")
            let id = try #require(added.json?["id"] as? String)
            #expect(added.json?["status"] as? String == "active")
            #expect(added.json?["preview"] as? String == "sk-a…55aa")
            #expect(added.json?["last_validation_result"] as? String == "ok")
            #expect(added.json?["created_at"] as? String != nil)

            h.fake.accept("AKIAIOSFODNN7EXAMPLE")
            let structured = try await h.request(
                .POST, "/api/orgs/acme/byok-keys",
                body:
                    #"{"provider":"aws","secret":{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","region":"eu-west-1"}}"#,
                key: admin)
            #expect(structured.status == 201, "\(structured.text)")

            let list = try await h.request(.GET, "/api/orgs/acme/byok-keys", key: admin)
            #expect(list.status == 200)
            let keys = try #require(try JSONSerialization.jsonObject(with: Data(list.body)) as? [[String: Any]])
            #expect(Set(keys.compactMap { $0["provider"] as? String }) == ["openai", "aws"])
            for key in keys {
                #expect(
                    Set(key.keys) == [
                        "id", "provider", "preview", "status", "created_at", "last_used_at", "last_validated_at", "last_validation_result",
                    ])
            }
            #expect(!list.text.contains(Self.secret) && !list.text.contains("wJalrXUtnFEMI"))

            _ = try await h.chat("hi")
            #expect(h.lastKeyReceived == Self.secret)
            _ = try await h.usageRecords()
            try await eventually {
                let listed = try? await h.request(.GET, "/api/orgs/acme/byok-keys", key: admin)
                let keys = listed.flatMap { try? JSONSerialization.jsonObject(with: Data($0.body)) as? [[String: Any]] } ?? []
                return keys.first { $0["id"] as? String == id }?["last_used_at"] as? String != nil
            }
            let deactivated = try await h.request(.POST, "/api/orgs/acme/byok-keys/\(id)/deactivate", key: admin)
            #expect(deactivated.json?["status"] as? String == "inactive")
            _ = try await h.chat("hi")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey, "the very next request falls back")
            let activated = try await h.request(.POST, "/api/orgs/acme/byok-keys/\(id)/activate", key: admin)
            #expect(activated.json?["status"] as? String == "active")
            let deleted = try await h.request(.DELETE, "/api/orgs/acme/byok-keys/\(id)", key: admin)
            #expect(deleted.status == 200 && deleted.json?["deleted"] as? Bool == true)
            #expect(try await h.request(.DELETE, "/api/orgs/acme/byok-keys/\(id)", key: admin).status == 404)
            _ = try await h.chat("hi")
            #expect(h.lastKeyReceived == GatewayHarness.platformKey)
        }
    }

    @Test func badBodiesAreRefusedWithTheParameterNamed() async throws {
        try await withHarness { h in
            let (_, admin) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true)
            let cases: [(String, Int, String?)] = [
                ("{bad", 400, nil),
                (#"{"secret":"sk-1234567890"}"#, 400, "provider"),
                (#"{"provider":"openai"}"#, 400, "secret"),
                (#"{"provider":"openai","secret":42}"#, 400, "secret"),
                (#"{"provider":"nowhere","secret":"sk-1234567890"}"#, 400, "provider"),
                (#"{"provider":"openai","secret":"sk-1234567890","validate":"no"}"#, 400, "validate"),
            ]
            for (body, status, param) in cases {
                let reply = try await h.request(.POST, "/api/orgs/acme/byok-keys", body: body, key: admin)
                #expect(reply.status == status, "\(body): \(reply.text)")
                #expect(reply.error?["param"] as? String == param, "\(body): \(reply.text)")
            }
            #expect(try await h.gateway.store.byokKeys(organizationID: h.organization.id).isEmpty)
        }
    }

    @Test func anotherOrganisationGets404AndANonAdminKey403() async throws {
        try await withHarness { h in
            let admin = AdminService(store: h.gateway.store)
            let keyA = try await h.addBYOKKey("sk-acme-own-key-0123456789")
            _ = try await admin.createOrganization(slug: "globex", name: nil)
            let (_, globexAdmin) = try await admin.createAPIKey(organizationSlug: "globex", name: nil, isAdmin: true)
            for (method, path) in [
                (HTTPMethodName.get, "/api/orgs/acme/byok-keys"), (.post, "/api/orgs/acme/byok-keys/\(keyA.id)/deactivate"),
                (.delete, "/api/orgs/acme/byok-keys/\(keyA.id)"), (.get, "/api/orgs/nonexistent/byok-keys"),
            ] {
                let reply = try await h.request(method.nio, path, key: globexAdmin)
                #expect(reply.status == 404, "\(path)")
            }
            // Globex's own route cannot reach Acme's key id either.
            #expect(try await h.request(.POST, "/api/orgs/globex/byok-keys/\(keyA.id)/deactivate", key: globexAdmin).status == 404)
            #expect(try await h.request(.DELETE, "/api/orgs/globex/byok-keys/\(keyA.id)", key: globexAdmin).status == 404)
            #expect(try await h.gateway.store.byokKey(id: keyA.id, organizationID: h.organization.id)?.status == .active)
            // Acme's ordinary (non-admin) key may call /v1 but not the org routes.
            let forbidden = try await h.request(.GET, "/api/orgs/acme/byok-keys")
            #expect(forbidden.status == 403)
            #expect(try await h.request(.GET, "/api/orgs/acme/byok-keys", key: .some(nil)).status == 401)
        }
    }
}

@Suite struct UsageRouteTests {
    @Test func listsTheNewestUsageRecordsOfTheCallersOrganisationOnly() async throws {
        try await withHarness { h in
            let (_, admin) = try await AdminService(store: h.gateway.store).createAPIKey(organizationSlug: "acme", name: "admin", isAdmin: true)
            _ = try await h.chat("one")
            _ = try await h.chat("two #fake chunks=2", stream: true)
            _ = try await h.usageRecords(atLeast: 2)
            let reply = try await h.request(.GET, "/api/orgs/acme/usage?limit=1", key: admin)
            #expect(reply.status == 200, "\(reply.text)")
            let records = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [[String: Any]])
            #expect(records.count == 1)
            let newest = records[0]
            #expect(newest["stream"] as? Bool == true)
            #expect(newest["model"] as? String == "openai/gpt-5.6-luna")
            #expect(newest["byok"] as? Bool == false && newest["estimated"] as? Bool == false)
            #expect(newest["input_tokens"] as? Int == 12 && newest["output_tokens"] as? Int == 2)
            #expect(reply.text.contains("\"credits_charged\":0.00"))
            #expect(try await h.request(.GET, "/api/orgs/acme/usage?limit=0", key: admin).status == 400)
            let all = try await h.request(.GET, "/api/orgs/acme/usage", key: admin)
            #expect((try JSONSerialization.jsonObject(with: Data(all.body)) as? [Any])?.count == 2)
        }
    }
}

enum HTTPMethodName {
    case get, post, delete
    var nio: NIOHTTP1.HTTPMethod {
        switch self {
        case .get: return .GET
        case .post: return .POST
        case .delete: return .DELETE
        }
    }
}

import NIOHTTP1
