/// The operator's side (SPEC §10): operator tokens for `/api/admin/…`, organisations' suspension, and usage
/// across organisations.
public protocol OperatorStore: Sendable {
    /// Stores a token already hashed. Throws `.duplicate` for a lookup id in use.
    func createOperatorToken(_ token: OperatorToken) async throws
    /// The token with this lookup id, revoked or not.
    func operatorToken(lookupID: String) async throws -> OperatorToken?
    /// Every token, oldest first.
    func operatorTokens() async throws -> [OperatorToken]
    /// False if there was no such token or it was already revoked.
    func revokeOperatorToken(id: String, at: Int64) async throws -> Bool
    /// Suspends the organisation (or lifts its suspension, nil). Throws `.notFound` for an unknown organisation.
    func setSuspension(_ suspension: OrganizationSuspension?, organizationID: String) async throws
    func suspension(organizationID: String) async throws -> OrganizationSuspension?
    /// Every suspended organisation's suspension, by organisation id.
    func suspensions() async throws -> [String: OrganizationSuspension]
    /// Usage per organisation per UTC day with `since ≤ created_at < until`, oldest day first, then by organisation id.
    func dailyUsage(since: Int64, until: Int64) async throws -> [OrganizationDailyUsage]
}
