import Foundation
import KeygateCore
import Logging
import Synchronization

/// Structured logs: one JSON object per line on stderr (`{"ts","level","label","msg",…metadata}`). Cheaper
/// than swift-log's stream handler, which matters at one line per request: the line is written straight
/// into bytes (the timestamp's date part is formatted once a second), and lines go out through a `LogSink`
/// that writes a batch of them with one `write(2)` a few milliseconds later instead of one call per line.
/// Warnings and worse are written at once (with everything before them, in order).
///
/// Invariant: it prints what it is given. Secrets are kept out by the callers, which never put one in a
/// message or metadata value (tests scan captured logs for that).
public struct JSONLinesLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// The shared level, unless this handler's logger set its own.
    public var logLevel: Logger.Level {
        get { ownLevel ?? control.level }
        set { ownLevel = newValue }
    }
    private var ownLevel: Logger.Level?
    let control: LogLevelControl
    let label: String
    let sink: LogSink

    public init(label: String, level: Logger.Level, fileDescriptor: Int32 = STDERR_FILENO) {
        self.init(label: label, control: LogLevelControl(level), fileDescriptor: fileDescriptor)
    }

    /// A handler following `control`'s level, which a reload may change.
    public init(label: String, control: LogLevelControl, fileDescriptor: Int32 = STDERR_FILENO) {
        self.label = label
        self.control = control
        self.sink = LogSink.forDescriptor(fileDescriptor)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The event's `source` is never read: swift-log derives it from the file path each time it is asked for.
    public func log(event: LogEvent) {
        let level = event.level
        let explicit = event.metadata
        var writer = JSONWriter(capacity: 512)
        writer.writeRaw("{\"ts\":")
        writer.writeString(Timestamp.now())
        writer.writeRaw(",\"level\":")
        writer.writeString(level.rawValue)
        writer.writeRaw(",\"label\":")
        writer.writeString(label)
        writer.writeRaw(",\"msg\":")
        writer.writeString(event.message.description)
        // The logger's own metadata, then the call's (which wins a clash), each in key order: no merged copy.
        for key in metadata.keys.sorted() where explicit?[key] == nil {
            Self.write(key, metadata[key]!, into: &writer)
        }
        if let explicit {
            for key in explicit.keys.sorted() { Self.write(key, explicit[key]!, into: &writer) }
        }
        writer.writeRaw("}\n")
        sink.append(writer.bytes, now: level >= .warning)
    }

    private static func write(_ key: String, _ value: Logger.Metadata.Value, into writer: inout JSONWriter) {
        guard !fixedKeys.contains(key) else { return }
        writer.append(UInt8(ascii: ","))
        writer.writeString(key)
        writer.append(UInt8(ascii: ":"))
        switch value {
        case .string(let s): writer.writeString(s)
        case .stringConvertible(let c): writer.writeString(c.description)
        case let other: writer.write(json(other))
        }
    }

    /// Metadata cannot replace the line's own fields.
    static let fixedKeys: Set<String> = ["ts", "level", "label", "msg"]

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c): return .string(c.description)
        case .array(let values): return .array(values.map(json))
        case .dictionary(let d): return .object(JSONObject(entries: d.keys.sorted().map { .init(key: $0, value: json(d[$0]!)) }))
        }
    }

    /// RFC 3339 UTC with milliseconds; the date-and-second part is cached per second.
    enum Timestamp {
        private static let cache = Mutex<(second: Int, text: String)>((-1, ""))

        static func now() -> String {
            var spec = timespec()
            clock_gettime(CLOCK_REALTIME, &spec)
            let second = spec.tv_sec
            let millis = spec.tv_nsec / 1_000_000
            let prefix = cache.withLock { cached -> String in
                if cached.second == second { return cached.text }
                var time = tm()
                var t = second
                gmtime_r(&t, &time)
                let text = String(
                    format: "%04d-%02d-%02dT%02d:%02d:%02d", time.tm_year + 1900, time.tm_mon + 1, time.tm_mday,
                    time.tm_hour, time.tm_min, time.tm_sec)
                cached = (second, text)
                return text
            }
            let ms = String(millis)
            return prefix + "." + String(repeating: "0", count: 3 - ms.count) + ms + "Z"
        }
    }
}
