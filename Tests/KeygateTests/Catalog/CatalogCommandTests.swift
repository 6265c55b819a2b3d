import Foundation
import Testing

/// `keygate catalog list|diff|import`, run as the operator runs them.
@Suite struct CatalogCommandTests {
    @Test func listDiffAndImportFromTheCommandLine() throws {
        let binary = try #require(LifecycleTests.keygateBinary(), "the keygate executable is built")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keygate-catalog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalogPath = dir + "/catalog.json"
        let priceMapPath = dir + "/prices.json"
        try Data(CatalogImportTests.current.utf8).write(to: URL(fileURLWithPath: catalogPath))
        try Data(CatalogImportTests.priceMap.utf8).write(to: URL(fileURLWithPath: priceMapPath))
        let environment = ["KEYGATE_DATA_DIR": dir, "KEYGATE_LOG_LEVEL": "error", "KEYGATE_CATALOG": catalogPath]
        let run = { (arguments: [String]) throws in try LifecycleTests.run(binary, arguments, environment: environment) }

        let list = try run(["catalog", "list"])
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.hasPrefix("model\tinput\toutput\tcached_input"))
        #expect(list.stdout.contains("anthropic/claude-haiku-4-5\t0.90\t4.00\t0.90\t0.90\t-\t-\t-\toperator"), "\(list.stdout)")
        #expect(list.stdout.contains("openai/gpt-gone\t0.000001"))
        let builtIn = try LifecycleTests.run(binary, ["catalog", "list", "--provider", "anthropic"], environment: ["KEYGATE_LOG_LEVEL": "error"])
        #expect(builtIn.stdout.contains("anthropic/claude-haiku-4-5\t1.00\t5.00\t0.10\t1.25"), "\(builtIn.stdout)")
        #expect(!builtIn.stdout.contains("openai/"))
        #expect(try run(["catalog", "list", "--provider", "nowhere"]).status == 1)

        // Import into a new file, compare it with the one in force, then rewrite the one in force.
        let newPath = dir + "/new.json"
        let imported = try run(["catalog", "import", "--litellm", priceMapPath, "--output", newPath, "--as-of", "2026-12-01"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("added 5, updated 1, unchanged 0, removed 1 LiteLLM models"), "\(imported.stdout)")
        #expect(imported.stdout.contains("kept 2 operator entries"))
        let diff = try run(["catalog", "diff", newPath])
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(diff.stdout.contains("- openai/gpt-gone\n"))
        #expect(diff.stdout.contains("+ groq/openai/gpt-oss-test  input 0.165 output 0.66"), "\(diff.stdout)")
        #expect(diff.stdout.contains("~ openai/gpt-test  input 0.000001 -> 2.625"))
        #expect(diff.stdout.contains("5 added, 1 removed, 1 changed models"))

        #expect(try run(["catalog", "import", "--litellm", priceMapPath, "--as-of", "2026-12-01"]).status == 0)
        let same = try run(["catalog", "diff", newPath])
        #expect(same.stdout.hasPrefix("0 added, 0 removed, 0 changed models"), "\(same.stdout)")

        // Nothing written over the built-in catalog; a missing or broken price map changes nothing.
        let noTarget = try LifecycleTests.run(binary, ["catalog", "import", "--litellm", priceMapPath], environment: ["KEYGATE_LOG_LEVEL": "error"])
        #expect(noTarget.status == 1 && noTarget.stderr.contains("--output"))
        let before = try String(contentsOfFile: catalogPath, encoding: .utf8)
        try Data("{".utf8).write(to: URL(fileURLWithPath: priceMapPath))
        let broken = try run(["catalog", "import", "--litellm", priceMapPath])
        #expect(broken.status == 1 && broken.stderr.contains("not valid JSON"), "\(broken.stderr)")
        #expect(try run(["catalog", "import", "--litellm", dir + "/missing.json"]).status == 1)
        #expect(try String(contentsOfFile: catalogPath, encoding: .utf8) == before)
    }
}
