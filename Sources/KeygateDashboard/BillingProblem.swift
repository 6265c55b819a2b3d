import HTTPTypes

/// A billing form the service refused: its message, in words, shown next to that form.
struct BillingProblem: Sendable {
    enum Form: Sendable {
        case buyCredits
        case autoTopUp
    }

    var form: Form
    var message: String
    var status: HTTPResponse.Status
    /// The refused form's fields, so the page shows what was typed (to correct it) rather than the saved values.
    var submitted: [String: String] = [:]
}
