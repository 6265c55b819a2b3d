import AsyncHTTPClient
import Foundation
import KeygateCore
@testable import KeygateServer
import KeygateStore
import NIOHTTP1
import Testing

/// The operator's admin API (`/api/admin/…`): an operator token required, organisations created, listed with
/// balances and suspended (their `/v1` calls refused), credits granted and adjusted as ledger entries, usage
/// across organisations, and an audit record of every action.
@Suite struct AdminAPITests {
    func token(_ h: GatewayHarness, name: String = "ops-alice") async throws -> (OperatorToken, String) {
        let (token, plaintext) = try await OperatorTokens(store: h.gateway.store).create(name: name)
        return (token, plaintext)
    }

    func admin(_ h: GatewayHarness, _ method: HTTPMethod, _ path: String, body: String? = nil, token: String) async throws -> GatewayHarness.Reply {
        try await h.request(method, "/api/admin" + path, body: body, key: .some(token))
    }

    @Test func aTokenIsRequiredAndOnlyAnOperatorTokenWorks() async throws {
        try await withHarness { h in
            let (record, plaintext) = try await token(h)
            #expect(plaintext.hasPrefix("kgop_") && record.preview.hasSuffix(String(plaintext.suffix(4))))
            let none = try await h.request(.GET, "/api/admin/organizations", key: .some(nil))
            #expect(none.status == 401 && none.error?["code"] as? String == "operator_token_required", "\(none.text)")
            #expect((none.error?["message"] as? String)?.contains("keygate operator-token create") == true)
            for wrong in [h.apiKey, "kgop_0123456789ab_" + String(repeating: "A", count: 43), String(plaintext.dropLast()) + "x", "nonsense"] {
                let reply = try await h.request(.GET, "/api/admin/organizations", key: .some(wrong))
                #expect(reply.status == 403 && reply.error?["code"] as? String == "operator_token_invalid", "\(reply.text)")
                #expect(reply.error?["type"] as? String == "permission_error")
            }
            #expect(try await admin(h, .GET, "/organizations", token: plaintext).status == 200)
            try await OperatorTokens(store: h.gateway.store).revoke(id: record.id)
            #expect(try await admin(h, .GET, "/organizations", token: plaintext).status == 403, "a revoked token stops at once")
        }
    }

    @Test func organisationsAreCreatedListedWithBalancesAndSuspended() async throws {
        try await withHarness { h in
            let (_, operatorToken) = try await token(h)
            let created = try await admin(h, .POST, "/organizations", body: #"{"slug":"globex","name":"Globex"}"#, token: operatorToken)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json?["slug"] as? String == "globex" && created.json?["suspended"] as? Bool == false)
            let again = try await admin(h, .POST, "/organizations", body: #"{"slug":"globex"}"#, token: operatorToken)
            #expect(again.status == 409 && again.error?["code"] as? String == "organization_exists")
            let bad = try await admin(h, .POST, "/organizations", body: #"{"slug":"Not A Slug"}"#, token: operatorToken)
            #expect(bad.status == 400 && bad.error?["param"] as? String == "slug", "\(bad.text)")
            #expect(try await admin(h, .POST, "/organizations", body: #"{"name":"x"}"#, token: operatorToken).status == 400)

            let list = try await admin(h, .GET, "/organizations", token: operatorToken)
            let rows = try #require((try JSONSerialization.jsonObject(with: Data(list.body))) as? [[String: Any]])
            #expect(rows.map { $0["slug"] as? String } == ["acme", "globex"])
            let acmeBalance = try #require(rows.first?["balance"] as? [String: Any])
            #expect(list.text.contains(#""available":1000.00"#), "credits are exact JSON numbers: \(list.text)")
            #expect(acmeBalance["reserved"] as? Double == 0)

            // Suspended: the organisation's calls are refused in the OpenAI format, and nothing reaches a provider.
            #expect(try await h.chat("hi").status == 200)
            let calls = h.fake.requests.count
            let noReason = try await admin(h, .POST, "/organizations/acme/suspend", body: "{}", token: operatorToken)
            #expect(noReason.status == 400 && noReason.error?["param"] as? String == "reason")
            let suspended = try await admin(h, .POST, "/organizations/acme/suspend", body: #"{"reason":"unpaid invoice"}"#, token: operatorToken)
            #expect(suspended.status == 200 && suspended.json?["suspended"] as? Bool == true, "\(suspended.text)")
            #expect((suspended.json?["suspension"] as? [String: Any])?["reason"] as? String == "unpaid invoice")
            let refused = try await h.chat("hi")
            #expect(refused.status == 403, "\(refused.text)")
            #expect(refused.error?["code"] as? String == "organization_suspended" && refused.error?["type"] as? String == "permission_error")
            #expect((refused.error?["message"] as? String)?.contains("acme") == true)
            #expect(refused.headers.first(name: "x-request-id") != nil)
            let messages = try await h.request(
                .POST, "/v1/messages", body: #"{"model":"claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(messages.status == 403)
            #expect(h.fake.requests.count == calls, "a suspended organisation's call never reaches a provider")
            let shown = try await admin(h, .GET, "/organizations/acme", token: operatorToken)
            #expect(shown.json?["suspended"] as? Bool == true)

            let lifted = try await admin(h, .POST, "/organizations/acme/unsuspend", token: operatorToken)
            #expect(lifted.status == 200 && lifted.json?["suspended"] as? Bool == false)
            #expect(try await h.chat("hi").status == 200, "calls work again at once")
            #expect(try await admin(h, .POST, "/organizations/nowhere/suspend", body: #"{"reason":"x"}"#, token: operatorToken).status == 404)
        }
    }

    @Test func grantsAndAdjustmentsAreLedgerEntriesWithTheirReason() async throws {
        try await withHarness { h in
            let (_, operatorToken) = try await token(h)
            let granted = try await admin(
                h, .POST, "/organizations/acme/credits/grant", body: #"{"credits":25.5,"reason":"support ticket 42"}"#, token: operatorToken)
            #expect(granted.status == 200, "\(granted.text)")
            #expect(granted.text.contains(#""available":1025.50"#), "\(granted.text)")
            let adjusted = try await admin(
                h, .POST, "/organizations/acme/credits/adjust", body: #"{"credits":"-5.25","reason":"double grant"}"#, token: operatorToken)
            #expect(adjusted.status == 200, "\(adjusted.text)")
            #expect(adjusted.text.contains(#""available":1020.25"#))
            for (path, body, param) in [
                ("grant", #"{"credits":-1,"reason":"x"}"#, "credits"), ("grant", #"{"credits":0,"reason":"x"}"#, "credits"),
                ("grant", #"{"credits":1.0000001,"reason":"x"}"#, "credits"), ("grant", #"{"credits":1}"#, "reason"),
                ("adjust", #"{"credits":0,"reason":"x"}"#, "credits"), ("grant", #"{"reason":"x"}"#, "credits"),
            ] {
                let reply = try await admin(h, .POST, "/organizations/acme/credits/" + path, body: body, token: operatorToken)
                #expect(reply.status == 400 && reply.error?["param"] as? String == param, "\(body): \(reply.text)")
            }
            #expect(
                try await admin(h, .POST, "/organizations/nowhere/credits/grant", body: #"{"credits":1,"reason":"x"}"#, token: operatorToken).status
                    == 404)

            let ledger = try await admin(h, .GET, "/organizations/acme/ledger?limit=2", token: operatorToken)
            let entries = try #require((try JSONSerialization.jsonObject(with: Data(ledger.body))) as? [[String: Any]])
            #expect(entries.map { $0["kind"] as? String } == ["adjustment", "grant"])
            #expect(entries.map { $0["reason"] as? String } == ["double grant", "support ticket 42"])
            #expect(ledger.text.contains(#""credits":-5.25"#) && ledger.text.contains(#""credits":25.50"#))
            #expect(try await h.gateway.store.verifyLedger(organizationID: nil).isEmpty, "balance = Σ entries")
            #expect(try await h.gateway.store.balance(organizationID: h.organization.id).available == MicroCredits(1_020_250_000))
        }
    }

    @Test func usageAcrossOrganisationsByDay() async throws {
        try await withHarness { h in
            let (_, operatorToken) = try await token(h)
            #expect(try await h.chat("hi").status == 200)
            #expect(try await h.chat("hi again").status == 200)
            _ = try await h.usageRecords(atLeast: 2)
            let reply = try await admin(h, .GET, "/usage?days=1", token: operatorToken)
            #expect(reply.status == 200, "\(reply.text)")
            let rows = try #require(reply.json?["rows"] as? [[String: Any]])
            let acme = try #require(rows.first { $0["organization"] as? String == "acme" })
            #expect(acme["requests"] as? Int == 2)
            #expect((acme["credits_charged"] as? Double ?? 0) > 0)
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            #expect(acme["date"] as? String == today)
            #expect((reply.json?["days"] as? [[String: Any]])?.first?["requests"] as? Int == 2)
            for bad in ["/usage?days=0", "/usage?days=x", "/usage?since=2026-13-01", "/usage?since=2026-01-02&until=2026-01-01"] {
                #expect(try await admin(h, .GET, bad, token: operatorToken).status == 400, "\(bad)")
            }
            let window = try await admin(h, .GET, "/usage?since=2001-01-01&until=2001-01-03", token: operatorToken)
            #expect(window.status == 200 && (window.json?["rows"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func everyActionIsAuditedAndNoTokenIsStoredOrLogged() async throws {
        try await withHarness(environment: ["KEYGATE_LOG_LEVEL": "trace"]) { h in
            let (record, operatorToken) = try await token(h)
            _ = try await admin(h, .POST, "/organizations/acme/credits/grant", body: #"{"credits":3,"reason":"welcome"}"#, token: operatorToken)
            _ = try await admin(h, .POST, "/organizations/acme/suspend", body: #"{"reason":"abuse report"}"#, token: operatorToken)
            _ = try await admin(h, .POST, "/organizations/nowhere/unsuspend", token: operatorToken)
            _ = try await admin(h, .GET, "/organizations/acme/ledger", token: operatorToken)
            let audit = try await admin(h, .GET, "/audit?limit=10", token: operatorToken)
            #expect(audit.status == 200)
            let records = try #require((try JSONSerialization.jsonObject(with: Data(audit.body))) as? [[String: Any]])
            #expect(
                records.map { $0["action"] as? String } == [
                    "ledger.read", "organization.unsuspend", "organization.suspend", "credits.grant", "operator_token.create",
                ])
            let grant = records[3]
            #expect((grant["actor"] as? [String: Any])?["name"] as? String == "ops-alice")
            #expect((grant["actor"] as? [String: Any])?["id"] as? String == record.id)
            #expect(grant["target"] as? String == "acme" && grant["outcome"] as? String == "ok")
            #expect(grant["detail"] as? String == "credits: 3.00, reason: welcome")
            #expect(grant["client_address"] as? String == "127.0.0.1")
            #expect((grant["at"] as? String)?.hasSuffix("Z") == true)
            #expect(records[1]["outcome"] as? String == "organization_not_found", "a refused action is recorded with its error")
            #expect(records[4]["client_address"] as? String == "local")
            let acmeOnly = try await admin(h, .GET, "/audit?organization=acme", token: operatorToken)
            #expect((try JSONSerialization.jsonObject(with: Data(acmeOnly.body)) as? [Any])?.count == 3)
            let refused = try await h.request(.GET, "/api/admin/audit", key: .some("nonsense"))
            #expect(refused.status == 403)

            // The token exists nowhere but with its holder: not in the database files, not in the logs.
            try await h.gateway.store.checkReachable()
            let secret = String(operatorToken.dropFirst("kgop_".count + 13))
            #expect(secret.count == 43)
            var scanned = 0
            for name in ["keygate.db", "keygate.db-wal"] {
                let bytes = try #require(FileManager.default.contents(atPath: (h.dataDirectory as NSString).appendingPathComponent(name)))
                scanned += bytes.count
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(name) holds the token")
                #expect(bytes.range(of: Data(operatorToken.utf8)) == nil)
            }
            #expect(scanned > 0)
            let allBytes = try ["keygate.db", "keygate.db-wal"].map {
                try #require(FileManager.default.contents(atPath: (h.dataDirectory as NSString).appendingPathComponent($0)))
            }
            #expect(allBytes.contains { $0.range(of: Data(record.preview.utf8)) != nil }, "the scan sees what the database holds")
            let logs = h.logs.all.joined(separator: "\n")
            #expect(!logs.isEmpty)
            #expect(!logs.contains(secret) && !logs.contains(operatorToken))
        }
    }
}

/// `keygate operator-token create|list|revoke`, run as the operator runs them.
@Suite struct OperatorTokenCommandTests {
    @Test func aTokenIsPrintedOnceListedAndRevoked() throws {
        let binary = try #require(LifecycleTests.keygateBinary(), "the keygate executable is built")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-optoken-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": LifecycleTests.masterKey, "KEYGATE_LOG_LEVEL": "error"]
        let run = { (arguments: [String]) throws in try LifecycleTests.run(binary, arguments, environment: environment) }
        let created = try run(["operator-token", "create", "--name", "ops-alice"])
        #expect(created.status == 0, "\(created.stderr)")
        let token = try #require(created.stdout.split(separator: "\n").last.map(String.init))
        #expect(token.hasPrefix("kgop_") && token.count == "kgop_".count + 12 + 1 + 43, "alone on the last line: \(created.stdout)")
        let list = try run(["operator-token", "list"])
        #expect(list.stdout.contains("\tops-alice\tkgop_") && !list.stdout.contains(token), "\(list.stdout)")
        let id = try #require(list.stdout.split(separator: "\n").dropFirst().first?.split(separator: "\t").first.map(String.init))
        #expect(try run(["operator-token", "revoke", id]).status == 0)
        #expect(try run(["operator-token", "revoke", id]).status == 1, "a revoked token cannot be revoked again")
        #expect(try run(["operator-token", "list"]).stdout.contains("\t-\n") == false)
    }
}
