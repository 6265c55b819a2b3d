import KeygateCore
import KeygateStore
import Testing

@testable import KeygateDashboard

/// The billing page's server-rendered chart: every day of the window drawn (empty days as zero-height bars),
/// UTC day labels, figures in `data-*`, and bar heights relative to the busiest day.
@Suite struct UsageChartTests {
    static let day = UsageDay.lengthMs

    @Test func utcDaysAreNamedByTheCivilCalendar() {
        #expect(UsageChart.isoDay(0) == "1970-01-01")
        #expect(UsageChart.isoDay(951_782_400_000) == "2000-02-29")  // a leap day of a century leap year
        #expect(UsageChart.isoDay(1_796_083_200_000) == "2026-12-01")
        #expect(UsageChart.isoDay(1_798_761_600_000) == "2027-01-01")
    }

    @Test func everyDayOfTheWindowIsDrawnAndTheBusiestFillsThePlot() {
        let first: Int64 = 1_796_083_200_000 - 29 * Self.day
        let summary = UsageSummary(days: [
            UsageDay(dayStart: first, requests: 4, byokRequests: 1, credits: MicroCredits(2_500_000)),
            UsageDay(dayStart: first + 29 * Self.day, requests: 2, byokRequests: 0, credits: MicroCredits(10)),
        ])
        let chart = UsageChart(summary: summary, firstDay: first, count: 30)
        #expect(chart.days.count == 30)
        #expect(chart.totalRequests == 6)
        #expect(chart.totalCredits == MicroCredits(2_500_010))
        let svg = chart.svg
        #expect(svg.components(separatedBy: "<rect class=\"bar\"").count - 1 == 30)
        #expect(svg.components(separatedBy: "<rect class=\"bar-byok\"").count - 1 == 1)
        #expect(svg.contains(#"data-day="2026-11-02" data-requests="4" data-byok-requests="1" data-credits="2.50""#))
        #expect(svg.contains(#"data-day="2026-12-01" data-requests="2""#))
        #expect(svg.contains(#"data-day="2026-11-15" data-requests="0""#))
        let plot = Double(UsageChart.plotBottom - UsageChart.plotTop)
        #expect(svg.contains(#"height="\#(UsageChart.fixed(plot))""#), "the busiest day fills the plot")
        #expect(svg.contains(#"height="\#(UsageChart.fixed(plot / 2))""#), "half as busy, half as high")
        #expect(svg.contains("2026-11-02: 4 requests (1 on your own keys), 2.50 credits"))
        #expect(!svg.contains("style="), "coloured by the stylesheet: the CSP forbids inline style")
    }

    @Test func anEmptyWindowDrawsFlatBars() {
        let chart = UsageChart(summary: UsageSummary(), firstDay: 0, count: 30)
        #expect(chart.totalRequests == 0)
        #expect(chart.svg.components(separatedBy: #"height="0.00""#).count - 1 == 30)
    }
}
