import KeygateStore

/// What a sign-in attempt came to. The refusal never says whether the email exists.
public enum LoginOutcome: Sendable {
    /// `token` is the session id for the cookie: it exists nowhere else (the store keeps its hash).
    case signedIn(token: String, session: DashboardSession, user: DashboardUser, memberships: [Membership])
    case refused
    /// Too many recent failures for this account or this address.
    case throttled(waitSeconds: Int64)
}
