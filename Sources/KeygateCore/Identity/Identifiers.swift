import Foundation

/// Prefixed identifiers (`org_…`, `key_…`, `req_…`), unique without a database round trip.
///
/// The first 12 hex digits are the creation time in milliseconds, the other 16 are random (64 bits). Time
/// first makes ids sort by creation and, more to the point, keeps the primary-key indexes they go into
/// (usage records, reservations) append-only: a random key lands on a random index page, so each insert
/// would dirty (and write to the WAL) a page of its own once the table is large.
public enum Identifiers {
    public static func make(_ prefix: String) -> String {
        make(prefix, atMs: WallClock.nowMs())
    }

    public static func make(_ prefix: String, atMs ms: Int64) -> String {
        var generator = SystemRandomNumberGenerator()
        let random = generator.next() as UInt64
        return prefix + "_" + String(UInt64(max(ms, 0)), radix: 16).leftPadded(12) + String(random, radix: 16).leftPadded(16)
    }
}

extension String {
    /// Zeros in front up to `width` characters (ids keep a fixed width, so they sort as text).
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
