import Foundation

/// A `/metrics` body read back into samples: `value("keygate_requests_total", ["billing": "credits", …])` is the sample
/// with exactly that label set (nil when absent). Enough of the text format for Keygate's own output.
struct MetricsScrape {
    let text: String
    private(set) var samples: [String: Double] = [:]

    init(_ text: String) {
        self.text = text
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else {
                samples[Self.key(String(series), [:])] = value
                continue
            }
            var labels: [String: String] = [:]
            let inside = series[series.index(after: brace)..<(series.lastIndex(of: "}") ?? series.endIndex)]
            var rest = Substring(inside)
            while let equals = rest.firstIndex(of: "=") {
                let name = rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                let afterQuote = rest.index(equals, offsetBy: 2)
                guard let close = rest[afterQuote...].firstIndex(of: "\"") else { break }
                labels[name] = String(rest[afterQuote..<close])
                rest = rest[rest.index(after: close)...]
            }
            samples[Self.key(String(series[..<brace]), labels)] = value
        }
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples[Self.key(name, labels)]
    }

    /// Like `value`, with an absent series read as 0 (a counter not yet moved).
    func count(_ name: String, _ labels: [String: String] = [:]) -> Double {
        value(name, labels) ?? 0
    }

    private static func key(_ name: String, _ labels: [String: String]) -> String {
        name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
    }
}
