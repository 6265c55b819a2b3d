import KeygateCore
import KeygateStore

/// The billing page's usage chart: requests per UTC day over the last `days` days, as server-rendered SVG
/// (no script, no inline style: the bars are coloured by the stylesheet through their classes). Each day is
/// one `rect.bar` carrying its figures as `data-*`, with a `<title>` a pointer or a screen reader shows; days
/// without usage are drawn as empty slots, so the axis is always the whole window.
struct UsageChart: Sendable {
    static let width = 600
    static let height = 150
    static let plotTop = 12
    static let plotBottom = 138

    /// Midnight UTC of the window's first day and its days, oldest first, filled in with zeros.
    let firstDay: Int64
    let days: [UsageDay]

    /// `summary` is the usage since `firstDay`; `count` days from it.
    init(summary: UsageSummary, firstDay: Int64, count: Int) {
        self.firstDay = firstDay
        let byDay = Dictionary(summary.days.map { ($0.dayStart, $0) }, uniquingKeysWith: { first, _ in first })
        days = (0..<count).map { index in
            let start = firstDay + Int64(index) * UsageDay.lengthMs
            return byDay[start] ?? UsageDay(dayStart: start, requests: 0, byokRequests: 0, credits: .zero)
        }
    }

    var totalRequests: Int64 { days.reduce(0) { $0 + $1.requests } }
    var totalCredits: MicroCredits { MicroCredits(days.reduce(0) { $0 + $1.credits.value }) }

    /// The SVG element; every interpolated value is a number or a date this code formats (nothing user-typed).
    var svg: String {
        let slot = Double(Self.width) / Double(max(days.count, 1))
        let barWidth = max(slot - 3, 1)
        let peak = max(days.map(\.requests).max() ?? 0, 1)
        let plotHeight = Double(Self.plotBottom - Self.plotTop)
        var out =
            "<svg id=\"usage-chart\" viewBox=\"0 0 \(Self.width) \(Self.height)\" role=\"img\" aria-labelledby=\"usage-chart-title\" "
            + "><title id=\"usage-chart-title\">Requests per day, last \(days.count) days (UTC)</title>"
        out += "<line class=\"axis\" x1=\"0\" y1=\"\(Self.plotBottom)\" x2=\"\(Self.width)\" y2=\"\(Self.plotBottom)\"/>"
        for (index, day) in days.enumerated() {
            let x = Double(index) * slot + 1.5
            let total = Double(day.requests) / Double(peak) * plotHeight
            let byok = Double(day.byokRequests) / Double(peak) * plotHeight
            let date = Self.isoDay(day.dayStart)
            let words =
                "\(date): \(day.requests) request\(day.requests == 1 ? "" : "s") (\(day.byokRequests) on your own keys), \(day.credits) credits"
            out +=
                "<g><title>\(words)</title><rect class=\"bar\" data-day=\"\(date)\" data-requests=\"\(day.requests)\" "
                + "data-byok-requests=\"\(day.byokRequests)\" data-credits=\"\(day.credits)\" x=\"\(Self.fixed(x))\" "
                + "y=\"\(Self.fixed(Double(Self.plotBottom) - total))\" width=\"\(Self.fixed(barWidth))\" height=\"\(Self.fixed(total))\"/>"
            if byok > 0 {
                out +=
                    "<rect class=\"bar-byok\" x=\"\(Self.fixed(x))\" y=\"\(Self.fixed(Double(Self.plotBottom) - byok))\" "
                    + "width=\"\(Self.fixed(barWidth))\" height=\"\(Self.fixed(byok))\"/>"
            }
            out += "</g>"
            if index == 0 || index == days.count - 1 || index == days.count / 2 {
                let anchor = index == 0 ? "start" : index == days.count - 1 ? "end" : "middle"
                let labelX = index == 0 ? 0 : index == days.count - 1 ? Double(Self.width) : x + barWidth / 2
                out += "<text class=\"label\" x=\"\(Self.fixed(labelX))\" y=\"\(Self.height - 4)\" text-anchor=\"\(anchor)\">\(date)</text>"
            }
        }
        out += "<text class=\"label\" x=\"0\" y=\"10\">\(peak) requests</text></svg>"
        return out
    }

    static func fixed(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// `YYYY-MM-DD` of a UTC midnight, by civil-from-days (no Foundation formatter, no time zone).
    static func isoDay(_ ms: Int64) -> String {
        let z = ms / UsageDay.lengthMs + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))"
    }
}
