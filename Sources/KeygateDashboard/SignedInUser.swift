import KeygateStore

/// The user behind a valid session cookie, with the organisations they may see.
public struct SignedInUser: Sendable {
    public var session: DashboardSession
    public var user: DashboardUser
    public var memberships: [Membership]

    public init(session: DashboardSession, user: DashboardUser, memberships: [Membership]) {
        self.session = session
        self.user = user
        self.memberships = memberships
    }

    /// The membership in the organisation with this slug, nil when the user is not one of its members.
    public func membership(slug: String) -> Membership? {
        memberships.first { $0.organization.slug == slug }
    }
}
