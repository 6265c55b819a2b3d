import Foundation
import Testing
@testable import KeygateCore

@Suite struct JSONTests {
    func roundTrip(_ text: String) throws -> String {
        String(decoding: try JSONValue.decode(Array(text.utf8)).encoded(), as: UTF8.self)
    }

    @Test func reencodingKeepsKeyOrderAndNumberText() throws {
        let text = #"{"z":1,"a":[true,false,null],"m":{"y":1e400,"x":0.10,"w":-0,"v":12345678901234567890},"s":"a/b"}"#
        #expect(try roundTrip(text) == text)
    }

    /// What Python's json.dumps sends by default: every non-ASCII character as `\uXXXX` (astral ones as a
    /// surrogate pair), mixed with raw runs and short escapes.
    @Test func everyScalarEscapedAsPythonDoesDecodesToTheOriginal() throws {
        let original = "Plain run, then é ü ß → 中文 日本語 🚀 👩‍💻 \u{10FFFF} \u{FFFD}\n\"q\" \\ end " + String(repeating: "x", count: 300)
        var escaped = "\""
        for scalar in original.unicodeScalars {
            switch scalar.value {
            case 0x22: escaped += "\\\""
            case 0x5C: escaped += "\\\\"
            case 0x0A: escaped += "\\n"
            case 0x20..<0x7F: escaped.unicodeScalars.append(scalar)
            case 0x10000...:
                let v = scalar.value - 0x10000
                escaped += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
            default: escaped += String(format: "\\u%04x", scalar.value)
            }
        }
        escaped += "\""
        #expect(try JSONValue.decode(Array(escaped.utf8)).stringValue == original)
    }

    @Test func stringsRoundTripThroughEscapes() throws {
        let value = try JSONValue.decode(Array(#"["q\"b\\s\/n\nt\tu\u00e9\ud83d\ude00 raw é 😀 \u0001"]"#.utf8))
        #expect(value.arrayValue?.first?.stringValue == "q\"b\\s/n\nt\tué😀 raw é 😀 \u{01}")
        #expect(String(decoding: value.encoded(), as: UTF8.self) == #"["q\"b\\s/n\nt\tué😀 raw é 😀 \u0001"]"#)
        // A lone surrogate becomes U+FFFD instead of failing.
        #expect(try JSONValue.decode(Array(#""\ud800x""#.utf8)).stringValue == "\u{FFFD}x")
    }

    @Test func agreesWithFoundationOnWhatItReads() throws {
        let text =
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi \"there\""}]}],"temperature":0.7,"n":2,"stop":["\n"],"logit_bias":{"50256":-100}}"#
        let ours = try JSONValue.decode(Array(text.utf8))
        let theirs = try JSONSerialization.jsonObject(with: Data(ours.encoded())) as? [String: Any]
        #expect(theirs?["model"] as? String == "m")
        #expect((theirs?["temperature"] as? NSNumber)?.doubleValue == 0.7)
        #expect(ours["n"]?.int64Value == 2)
        #expect(ours["temperature"]?.doubleValue == 0.7)
        #expect(ours["logit_bias"]?["50256"]?.int64Value == -100)
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "\"unterminated", "\"bad \\x escape\"",
        "\"tab\there\"", "tru", "nul", "{\"a\" 1}", "{1:2}", "[1 2]", "{} {}", "\"\\u12\"",
    ])
    func rejectsInvalidJSON(text: String) {
        #expect(throws: JSONParser.Error.self) { try JSONValue.decode(Array(text.utf8)) }
    }

    @Test func refusesExcessiveNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.Error.self) { try JSONValue.decode(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONValue.decode(Array(fine.utf8)) }
    }

    @Test func objectSubscriptSetsReplacesAndRemoves() {
        var value: JSONValue = .object(["a": .int(1), "b": .int(2)])
        value["a"] = .string("x")
        value["c"] = .bool(true)
        value["b"] = nil
        #expect(String(decoding: value.encoded(), as: UTF8.self) == #"{"a":"x","c":true}"#)
        #expect(JSONValue.number("1e3").int64Value == 1000)
        #expect(JSONValue.number("1.5").int64Value == nil)
    }
}
