import Foundation

/// Random, prefixed identifiers (`org_…`, `key_…`, `req_…`): unique without a database round trip.
public enum Identifiers {
    public static func make(_ prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let a = generator.next() as UInt64
        let b = generator.next() as UInt32
        return prefix + "_" + String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(8)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

public enum Clock {
    public static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
