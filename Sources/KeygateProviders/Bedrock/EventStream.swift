/// AWS event-stream binary framing (`application/vnd.amazon.eventstream`, providers.md §4.3):
/// `[total u32][headers length u32][prelude CRC32][headers][payload][message CRC32]`, all big-endian.
public struct EventStreamMessage: Sendable, Equatable {
    public var headers: [String: String]
    public var payload: [UInt8]

    public init(headers: [String: String], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }
}

public enum EventStreamError: Error, Equatable, CustomStringConvertible {
    case badPreludeChecksum
    case badMessageChecksum
    case malformed(String)

    public var description: String {
        switch self {
        case .badPreludeChecksum: return "event-stream frame with a bad prelude checksum"
        case .badMessageChecksum: return "event-stream frame with a bad message checksum"
        case .malformed(let why): return "malformed event-stream frame: \(why)"
        }
    }
}

/// Decodes frames incrementally, however the bytes are chunked. A bad checksum is an error, never a crash.
public struct EventStreamDecoder: Sendable {
    private var buffer: [UInt8] = []
    static let maxFrame = 24 * 1024 * 1024 + 128 * 1024 + 16

    public init() {}

    public var hasPartialFrame: Bool { !buffer.isEmpty }

    public mutating func append(_ bytes: [UInt8]) throws(EventStreamError) -> [EventStreamMessage] {
        buffer.append(contentsOf: bytes)
        var messages: [EventStreamMessage] = []
        var offset = 0
        while buffer.count - offset >= 12 {
            let total = Int(Self.u32(buffer, offset))
            let headersLength = Int(Self.u32(buffer, offset + 4))
            guard CRC32.checksum(buffer[offset..<(offset + 8)]) == Self.u32(buffer, offset + 8) else { throw .badPreludeChecksum }
            guard total >= 16, total <= Self.maxFrame, headersLength <= total - 16 else { throw .malformed("lengths out of range") }
            guard buffer.count - offset >= total else { break }
            let end = offset + total
            guard CRC32.checksum(buffer[offset..<(end - 4)]) == Self.u32(buffer, end - 4) else { throw .badMessageChecksum }
            let headers = try Self.headers(buffer[(offset + 12)..<(offset + 12 + headersLength)])
            messages.append(EventStreamMessage(headers: headers, payload: Array(buffer[(offset + 12 + headersLength)..<(end - 4)])))
            offset = end
        }
        buffer.removeFirst(offset)
        return messages
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// String-valued headers (the ones Bedrock uses); other types are skipped by their sizes.
    static func headers(_ bytes: ArraySlice<UInt8>) throws(EventStreamError) -> [String: String] {
        var headers: [String: String] = [:]
        var i = bytes.startIndex
        func need(_ n: Int) throws(EventStreamError) { if i + n > bytes.endIndex { throw .malformed("header runs past its block") } }
        while i < bytes.endIndex {
            try need(1)
            let nameLength = Int(bytes[i]); i += 1
            try need(nameLength + 1)
            let name = String(decoding: bytes[i..<(i + nameLength)], as: UTF8.self); i += nameLength
            let type = bytes[i]; i += 1
            switch type {
            case 0, 1: break
            case 2: try need(1); i += 1
            case 3: try need(2); i += 2
            case 4: try need(4); i += 4
            case 5, 8: try need(8); i += 8
            case 9: try need(16); i += 16
            case 6, 7:
                try need(2)
                let length = Int(bytes[i]) << 8 | Int(bytes[i + 1]); i += 2
                try need(length)
                if type == 7 { headers[name] = String(decoding: bytes[i..<(i + length)], as: UTF8.self) }
                i += length
            default: throw .malformed("unknown header type \(type)")
            }
        }
        return headers
    }
}

/// Builds frames (for the fake provider and tests).
public enum EventStreamEncoder {
    public static func encode(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes.append(contentsOf: name.utf8)
            headerBytes.append(7)
            headerBytes.append(UInt8(value.utf8.count >> 8))
            headerBytes.append(UInt8(value.utf8.count & 0xFF))
            headerBytes.append(contentsOf: value.utf8)
        }
        let total = 16 + headerBytes.count + payload.count
        var frame = be32(UInt32(total)) + be32(UInt32(headerBytes.count))
        frame += be32(CRC32.checksum(frame[...]))
        frame += headerBytes + payload
        frame += be32(CRC32.checksum(frame[...]))
        return frame
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}

/// CRC-32 (IEEE 802.3, as zlib's `crc32`).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
