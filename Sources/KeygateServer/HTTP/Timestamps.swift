import Foundation

/// Times as the management API shows them.
enum Timestamps {
    /// `2026-11-23T12:00:00.000Z` from Unix milliseconds.
    static func iso8601(ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
