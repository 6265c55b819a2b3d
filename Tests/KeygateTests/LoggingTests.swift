import Foundation
import Logging
import Testing
@testable import KeygateServer

@Suite struct JSONLinesLogHandlerTests {
    @Test func writesOneJSONObjectPerLineWithMetadata() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kg-log-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var logger = Logger(label: "keygate") { JSONLinesLogHandler(label: $0, level: .info, fileDescriptor: fd) }
        logger[metadataKey: "request_id"] = "req_1"
        logger.info("chat completion", metadata: ["status": "200", "quote": "say \"hi\"\nbye"])
        logger.debug("below the level")
        logger.warning("second")
        close(fd)
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(first["msg"] as? String == "chat completion")
        #expect(first["level"] as? String == "info")
        #expect(first["request_id"] as? String == "req_1")
        #expect(first["quote"] as? String == "say \"hi\"\nbye")
        let ts = try #require(first["ts"] as? String)
        #expect(ts.count == 24 && ts.hasSuffix("Z"), "\(ts)")
    }

    /// Info lines are batched into one write a few milliseconds later; none is lost, split or reordered, and a
    /// warning goes out at once with everything before it.
    @Test func batchedLinesComeOutWholeInOrderAndAWarningFlushesThem() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kg-log-\(UUID().uuidString)").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer {
            close(fd)
            try? FileManager.default.removeItem(atPath: path)
        }
        @Sendable func lines() throws -> [[String: Any]] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
        }
        let logger = Logger(label: "keygate") { JSONLinesLogHandler(label: $0, level: .info, fileDescriptor: fd) }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for i in 0..<500 { logger.info("line", metadata: ["worker": "\(worker)", "i": "\(i)"]) }
                }
            }
        }
        logger.warning("last")
        let written = try lines()
        #expect(written.count == 2001)
        #expect(written.last?["msg"] as? String == "last")
        for worker in 0..<4 {
            let order = written.filter { $0["worker"] as? String == "\(worker)" }.compactMap { ($0["i"] as? String).flatMap(Int.init) }
            #expect(order == Array(0..<500), "worker \(worker)'s lines in the order logged")
        }
        logger.info("quiet")
        try await eventually { try lines().count == 2002 }
    }
}
