import Hummingbird
import KeygateCore

/// `?limit=N` of the management API's lists (usage records, ledger entries): 1…1000, default 50.
enum ListLimit {
    static let defaultValue = 50
    static let maximum = 1000

    static func parse(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return defaultValue }
        guard let value = Int(text), (1...maximum).contains(value) else {
            throw GatewayError.invalidValue("'limit' must be an integer from 1 to \(maximum).", param: "limit")
        }
        return value
    }
}
