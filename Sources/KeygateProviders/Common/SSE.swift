/// Server-sent events framing helpers.
enum SSE {
    /// The joined `data:` lines of one event, or nil if it has none (a comment or `event:`-only block).
    static func dataPayload(of event: ArraySlice<UInt8>) -> [UInt8]? {
        let values = fieldValues(of: event, prefix: dataPrefix)
        guard var payload = values.first.map(Array.init) else { return nil }
        for value in values.dropFirst() {
            payload.append(UInt8(ascii: "\n"))
            payload.append(contentsOf: value)
        }
        return payload
    }

    /// The `event:` name of an event, if it has one.
    static func eventName(of event: ArraySlice<UInt8>) -> String? {
        fieldValues(of: event, prefix: eventPrefix).first.map { String(decoding: $0, as: UTF8.self) }
    }

    private static let dataPrefix = Array("data:".utf8)
    private static let eventPrefix = Array("event:".utf8)

    /// The values of every `field:` line of an event (`prefix` is the field name and its colon), in order
    /// (one leading space dropped, CRLF allowed).
    static func fieldValues(of event: ArraySlice<UInt8>, prefix: [UInt8]) -> [ArraySlice<UInt8>] {
        var values: [ArraySlice<UInt8>] = []
        var lineStart = event.startIndex
        var index = event.startIndex
        while index <= event.endIndex {
            if index == event.endIndex || event[index] == UInt8(ascii: "\n") {
                var line = event[lineStart..<index]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if line.starts(with: prefix) {
                    var value = line.dropFirst(prefix.count)
                    if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
                    values.append(value)
                }
                lineStart = index + 1
            }
            index += 1
        }
        return values
    }
}
