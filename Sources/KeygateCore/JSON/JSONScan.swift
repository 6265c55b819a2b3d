/// Byte-level looks into JSON text, cheaper than decoding a whole document for one field of it.
/// It lives beside `JSONParser` because its `.absent` and `.unreadable` answers make the two safe together
/// only while they agree (`JSONScanTests` checks that they do).
public enum JSONScan {
    /// What the relay needs from one chunk, in a single pass over its JSON: the length of the text values it
    /// generated (`content`, `arguments`, `reasoning_content`, `refusal`; escapes counted as written),
    /// whether a choice has a `finish_reason`, and whether `usage` is an object (not `null`). Keys are
    /// recognised at any depth; a string value is skipped whole, so its contents never look like a key.
    public static func chunkFacts(in json: [UInt8]) -> (textBytes: Int, hasFinishReason: Bool, hasUsageObject: Bool) {
        var textBytes = 0
        var hasFinishReason = false
        var hasUsageObject = false
        let count = json.count
        var i = 0
        while i < count {
            guard json[i] == UInt8(ascii: "\"") else { i += 1; continue }
            let start = i + 1
            let end = stringEnd(json, from: start)
            var j = end + 1
            while j < count, isSpace(json[j]) { j += 1 }
            guard j < count, json[j] == UInt8(ascii: ":") else { i = end + 1; continue }  // a value, not a key
            j += 1
            while j < count, isSpace(json[j]) { j += 1 }
            guard j < count else { break }
            switch key(json, start, end) {
            case .text where json[j] == UInt8(ascii: "\""):
                let valueEnd = stringEnd(json, from: j + 1)
                textBytes += valueEnd - (j + 1)
                i = valueEnd + 1
                continue
            case .finishReason where json[j] == UInt8(ascii: "\""):
                let valueEnd = stringEnd(json, from: j + 1)
                if valueEnd > j + 1 { hasFinishReason = true }
                i = valueEnd + 1
                continue
            case .usage where json[j] == UInt8(ascii: "{"):
                hasUsageObject = true
            default:
                break
            }
            i = j
        }
        return (textBytes, hasFinishReason, hasUsageObject)
    }

    /// What `topLevelValue` found.
    public enum TopLevelLookup: Equatable {
        /// The byte range of the value (the last one if the key is repeated, as a full parse would take).
        case found(Range<Int>)
        /// The text is one whole object without that key.
        case absent
        /// The text is not one whole object (unbalanced, truncated, or followed by more than whitespace).
        case unreadable
    }

    /// The value of `key` in the top-level object of `json`. Nested objects, arrays and strings are skipped
    /// whole, so a key of the same name inside them is never taken. The values themselves are not checked:
    /// parse the range to use it.
    public static func topLevelValue(in json: [UInt8], key: String) -> TopLevelLookup {
        guard let range = lastTopLevelValue(in: json, key: Array(key.utf8)) else { return .unreadable }
        return range.map { .found($0) } ?? .absent
    }

    /// nil: unreadable; .some(nil): absent.
    private static func lastTopLevelValue(in json: [UInt8], key wanted: [UInt8]) -> Range<Int>?? {
        let count = json.count
        var i = 0
        while i < count, isSpace(json[i]) { i += 1 }
        guard i < count, json[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        var found: Range<Int>?
        var first = true
        while true {
            while i < count, isSpace(json[i]) { i += 1 }
            guard i < count else { return nil }
            if first && json[i] == UInt8(ascii: "}") { break }  // `{}`; after a comma a key must follow
            first = false
            guard json[i] == UInt8(ascii: "\"") else { return nil }
            let keyEnd = stringEnd(json, from: i + 1)
            guard keyEnd < count else { return nil }
            let isWanted = keyEnd - (i + 1) == wanted.count && equals(json, i + 1, wanted)
            i = keyEnd + 1
            while i < count, isSpace(json[i]) { i += 1 }
            guard i < count, json[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            while i < count, isSpace(json[i]) { i += 1 }
            guard let valueEnd = valueEnd(json, from: i) else { return nil }
            if isWanted { found = i..<valueEnd }
            i = valueEnd
            while i < count, isSpace(json[i]) { i += 1 }
            guard i < count else { return nil }
            if json[i] == UInt8(ascii: ",") { i += 1; continue }
            guard json[i] == UInt8(ascii: "}") else { return nil }
            break
        }
        i += 1
        while i < count, isSpace(json[i]) { i += 1 }
        return i == count ? .some(found) : nil
    }

    /// Where the value starting at `from` ends (exclusive), or nil if it runs past the text.
    private static func valueEnd(_ json: [UInt8], from start: Int) -> Int? {
        let count = json.count
        guard start < count else { return nil }
        switch json[start] {
        case UInt8(ascii: "\""):
            let end = stringEnd(json, from: start + 1)
            return end < count ? end + 1 : nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var i = start
            while i < count {
                switch json[i] {
                case UInt8(ascii: "\""):
                    i = stringEnd(json, from: i + 1)
                    guard i < count else { return nil }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default:
                    break
                }
                i += 1
            }
            return nil
        default:
            // A number, true, false or null: up to the next delimiter.
            var i = start
            while i < count, !isSpace(json[i]), json[i] != UInt8(ascii: ","), json[i] != UInt8(ascii: "}"), json[i] != UInt8(ascii: "]") {
                i += 1
            }
            return i > start ? i : nil
        }
    }

    private enum Key { case text, finishReason, usage, other }

    private static func key(_ json: [UInt8], _ start: Int, _ end: Int) -> Key {
        switch end - start {
        case 5: return equals(json, start, usage) ? .usage : .other
        case 7: return equals(json, start, content) ? .text : (equals(json, start, refusal) ? .text : .other)
        case 9: return equals(json, start, arguments) ? .text : .other
        case 13: return equals(json, start, finishReason) ? .finishReason : .other
        case 17: return equals(json, start, reasoningContent) ? .text : .other
        default: return .other
        }
    }

    private static let usage = Array("usage".utf8)
    private static let content = Array("content".utf8)
    private static let refusal = Array("refusal".utf8)
    private static let arguments = Array("arguments".utf8)
    private static let finishReason = Array("finish_reason".utf8)
    private static let reasoningContent = Array("reasoning_content".utf8)

    private static func equals(_ json: [UInt8], _ start: Int, _ word: [UInt8]) -> Bool {
        for k in 0..<word.count where json[start + k] != word[k] { return false }
        return true
    }

    /// The index of the quote closing a string whose contents start at `from` (or the end of the text).
    private static func stringEnd(_ json: [UInt8], from: Int) -> Int {
        var i = from
        while i < json.count, json[i] != UInt8(ascii: "\"") {
            i += json[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        return min(i, json.count)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }

}
