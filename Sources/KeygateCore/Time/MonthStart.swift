import Foundation

/// Calendar months in UTC: the period of the monthly top-up limit and of the billing page's month figures.
public enum MonthStart {
    /// The first millisecond of the UTC calendar month containing `ms` (Unix epoch milliseconds).
    public static func utc(ofMs ms: Int64) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        let start = calendar.date(from: calendar.dateComponents([.year, .month], from: date))!
        return Int64(start.timeIntervalSince1970 * 1000)
    }
}
