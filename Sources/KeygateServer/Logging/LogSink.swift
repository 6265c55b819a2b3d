import Foundation
import Synchronization

/// Where log lines for one file descriptor go: a buffer written out with one `write(2)` at most
/// `LogSink.delay` after its first line (or at once when it grows past `LogSink.limit`, or for a line that
/// must not wait). At one line per request this turns thousands of write calls a second into a hundred.
///
/// Invariants: lines come out whole and in the order they were appended (one writer at a time takes the
/// whole buffer); a line appended with `now: true` is written before `append` returns, with everything
/// before it; `flushAll()` (called when `keygate serve` stops, and at exit) leaves nothing behind. A crash
/// can lose at most the last `delay` of info lines.
public final class LogSink: Sendable {
    static let delay = DispatchTimeInterval.milliseconds(10)
    static let limit = 64 << 10

    private struct Buffer {
        var bytes: [UInt8] = []
        var flushScheduled = false
    }
    private let fileDescriptor: Int32
    private let buffer = Mutex(Buffer())
    /// Held while writing, so two flushes cannot reorder their batches.
    private let writing = Mutex(())
    private static let queue = DispatchQueue(label: "keygate.log-sink")
    private static let sinks = Mutex<[Int32: LogSink]>([:])

    private init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
    }

    /// The one sink of `fileDescriptor` (every logger writing to it shares the buffer, so lines stay ordered).
    static func forDescriptor(_ fileDescriptor: Int32) -> LogSink {
        sinks.withLock { sinks in
            if let sink = sinks[fileDescriptor] { return sink }
            let sink = LogSink(fileDescriptor: fileDescriptor)
            if sinks.isEmpty { atexit { LogSink.flushAll() } }
            sinks[fileDescriptor] = sink
            return sink
        }
    }

    /// Writes every sink's buffered lines now.
    public static func flushAll() {
        for sink in sinks.withLock({ Array($0.values) }) { sink.flush() }
    }

    func append(_ line: [UInt8], now: Bool) {
        let schedule = buffer.withLock { buffer -> Bool in
            buffer.bytes.append(contentsOf: line)
            guard !now, buffer.bytes.count < Self.limit, !buffer.flushScheduled else { return false }
            buffer.flushScheduled = true
            return true
        }
        if schedule {
            Self.queue.asyncAfter(deadline: .now() + Self.delay) { self.flush() }
        } else if now || buffer.withLock({ $0.bytes.count >= Self.limit }) {
            flush()
        }
    }

    func flush() {
        writing.withLock { _ in
            let bytes = buffer.withLock { buffer -> [UInt8] in
                buffer.flushScheduled = false
                defer { buffer.bytes = [] }
                return buffer.bytes
            }
            guard !bytes.isEmpty else { return }
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written <= 0 {
                        if written < 0 && errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
