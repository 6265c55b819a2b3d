/// One operator action: who (the operator token's id and name), what (the action, its target and details),
/// when, from where (the client's address), and how it ended. Append-only.
public struct AuditRecord: Sendable, Hashable {
    public var id: String
    /// Unix epoch milliseconds.
    public var at: Int64
    /// The operator token's id (`cli` for a command run on the server's machine).
    public var actorID: String
    public var actorName: String
    /// `organization.create`, `organization.suspend`, `credits.grant`, `ledger.read`, …
    public var action: String
    /// What it acted on (an organisation's slug), if anything.
    public var target: String?
    /// The parameters that matter (amount, reason), as short text; never a secret.
    public var detail: String?
    /// `ok`, or the error code it was refused with.
    public var outcome: String
    public var clientAddress: String

    public init(
        id: String, at: Int64, actorID: String, actorName: String, action: String, target: String?, detail: String?, outcome: String,
        clientAddress: String
    ) {
        self.id = id
        self.at = at
        self.actorID = actorID
        self.actorName = actorName
        self.action = action
        self.target = target
        self.detail = detail
        self.outcome = outcome
        self.clientAddress = clientAddress
    }
}
