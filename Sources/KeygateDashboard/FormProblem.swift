import HTTPTypes

/// A dashboard form the service refused: its message, in words, shown next to that form with its status.
struct FormProblem: Sendable {
    enum Form: String, Sendable {
        case buyCredits
        case autoTopUp
        case addBYOKKey
        case byokKeyAction
        case createAPIKey
        case apiKeyAction
        case addMember
        case memberAction
        case fallback
    }

    var form: Form
    var message: String
    var status: HTTPResponse.Status
    /// The refused form's fields, so the page shows what was typed (to correct it) rather than the saved values.
    var submitted: [String: String] = [:]

    /// The template value its message goes under, e.g. `addBYOKKeyProblem`.
    var templateKey: String { form.rawValue + "Problem" }
}
