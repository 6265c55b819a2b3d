import Foundation
import Testing
@testable import KeygateProviders

/// The event-stream vectors of providers.md §4.3.
@Suite struct EventStreamTests {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static let botocore = hex(
        "0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1")
    static let bedrock = hex(
        "0000009400000057b4ab9aee0b3a6576656e742d74797065070011636f6e74656e74426c6f636b44656c74610d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a224869227d7d1f944657"
    )

    @Test func decodesTheReferenceVectors() throws {
        var decoder = EventStreamDecoder()
        let one = try decoder.append(Self.botocore)
        #expect(one == [EventStreamMessage(headers: ["content-type": "application/json"], payload: Array("{'foo':'bar'}".utf8))])
        let empty = try decoder.append(Self.hex("0000001000000000" + "05c248eb7d98c8ff"))
        #expect(empty == [EventStreamMessage(headers: [:], payload: [])])
        let bedrock = try decoder.append(Self.bedrock)
        #expect(bedrock.first?.headers == [":event-type": "contentBlockDelta", ":content-type": "application/json", ":message-type": "event"])
        #expect(String(decoding: bedrock.first?.payload ?? [], as: UTF8.self) == #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
    }

    @Test func theEncoderReproducesTheBedrockVector() {
        let frame = EventStreamEncoder.encode(
            headers: [(":event-type", "contentBlockDelta"), (":content-type", "application/json"), (":message-type", "event")],
            payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#.utf8))
        #expect(frame == Self.bedrock)
    }

    @Test func anySplitGivesTheSameMessages() throws {
        let stream = Self.botocore + Self.bedrock
        for cut in 1..<stream.count {
            var decoder = EventStreamDecoder()
            let messages = try decoder.append(Array(stream[..<cut])) + (try decoder.append(Array(stream[cut...])))
            #expect(messages.count == 2, "split at \(cut)")
            #expect(!decoder.hasPartialFrame)
        }
    }

    @Test func aCorruptedChecksumIsACleanError() {
        var corrupted = Self.bedrock
        corrupted[corrupted.count - 10] ^= 0xFF
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.badMessageChecksum) { try decoder.append(corrupted) }
        var prelude = Self.bedrock
        prelude[2] ^= 0x01
        var other = EventStreamDecoder()
        #expect(throws: EventStreamError.badPreludeChecksum) { try other.append(prelude) }
    }
}
