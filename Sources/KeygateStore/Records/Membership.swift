/// A user's place in one organisation.
public struct Membership: Sendable, Hashable {
    public var organization: Organization
    public var user: DashboardUser
    public var role: MemberRole

    public init(organization: Organization, user: DashboardUser, role: MemberRole) {
        self.organization = organization
        self.user = user
        self.role = role
    }
}
