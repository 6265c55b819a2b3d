/// Why the dashboard cannot start (a missing template or stylesheet), in words.
public struct DashboardStartupError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
