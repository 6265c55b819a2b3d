import Foundation
import Testing

/// `keygate packs list` and `keygate topup show|set|attach-card`, run as the operator runs them.
@Suite struct PaymentCommandsTests {
    @Test func packsAndAutoTopUpFromTheCommandLine() throws {
        let binary = try #require(LifecycleTests.keygateBinary(), "the keygate executable is built")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let environment = ["KEYGATE_DATA_DIR": dir, "KEYGATE_MASTER_KEY": LifecycleTests.masterKey, "KEYGATE_LOG_LEVEL": "error"]
        let run = { (arguments: [String]) throws in try LifecycleTests.run(binary, arguments, environment: environment) }

        let packs = try run(["packs", "list"])
        #expect(packs.status == 0, "\(packs.stderr)")
        #expect(packs.stdout.contains("standard\t5000\t47.50 usd\t5.00%"), "\(packs.stdout)")
        #expect(packs.stdout.contains("scale\t100000\t850.00 usd\t15.00%"), "\(packs.stdout)")

        #expect(try run(["org", "create", "acme"]).status == 0)
        let set = try run(["topup", "set", "--org", "acme", "--enable", "--threshold", "100", "--pack", "standard", "--monthly-limit", "200.00"])
        #expect(set.status == 0, "\(set.stderr)")
        let shown = try run(["topup", "show", "--org", "acme"])
        #expect(shown.stdout.contains("enabled true, state idle"), "\(shown.stdout)")
        #expect(shown.stdout.contains("threshold 100.00 credits, pack standard, monthly limit 200.00 usd"), "\(shown.stdout)")
        #expect(shown.stdout.contains("card saved false"), "\(shown.stdout)")

        let unknownPack = try run(["topup", "set", "--org", "acme", "--pack", "huge"])
        #expect(unknownPack.status == 1 && unknownPack.stderr.contains("huge"), "\(unknownPack.stderr)")
        let tooLow = try run(["topup", "set", "--org", "acme", "--monthly-limit", "10"])
        #expect(tooLow.status == 1 && tooLow.stderr.contains("monthly_limit"), "\(tooLow.stderr)")
        let badCard = try run(["topup", "attach-card", "--org", "acme", "--customer", "nobody", "--payment-method", "pm_1"])
        #expect(badCard.status == 1 && badCard.stderr.contains("cus_"), "\(badCard.stderr)")
        // Without Stripe configured the ids cannot be checked there; the shapes still are, and the card is saved.
        let attached = try run(["topup", "attach-card", "--org", "acme", "--customer", "cus_test1", "--payment-method", "pm_test1"])
        #expect(attached.status == 0 && attached.stdout.contains("card saved true"), "\(attached.stderr)")
        let off = try run(["topup", "set", "--org", "acme", "--disable"])
        #expect(off.stdout.contains("enabled false"), "\(off.stdout)")
        #expect(try run(["topup", "set", "--org", "acme", "--enable", "--disable"]).status == 1)
    }
}
