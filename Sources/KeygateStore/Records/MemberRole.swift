/// What a dashboard user may do in an organisation: members read, admins also change.
public enum MemberRole: String, Sendable, Hashable, CaseIterable {
    case admin
    case member
}
