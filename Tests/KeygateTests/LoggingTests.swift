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
}
