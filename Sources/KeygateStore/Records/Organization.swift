/// A customer organisation.
public struct Organization: Sendable, Hashable, Codable {
    public var id: String
    /// URL-safe handle used in routes and the CLI (`acme`, `acme-labs`).
    public var slug: String
    public var name: String
    public var createdAt: Int64

    public init(id: String, slug: String, name: String, createdAt: Int64) {
        self.id = id
        self.slug = slug
        self.name = name
        self.createdAt = createdAt
    }

    /// 2–63 characters of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
    public static func isValidSlug(_ slug: String) -> Bool {
        let bytes = Array(slug.utf8)
        guard (2...63).contains(bytes.count) else { return false }
        func alnum(_ b: UInt8) -> Bool { (97...122).contains(b) || (48...57).contains(b) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }
}

/// Per-organisation switches.
public struct OrganizationSettings: Sendable, Hashable {
    /// When the organisation's own key is rate limited (429), retry once on the platform key, billed in credits.
    public var byokFallbackOnRateLimit: Bool

    public init(byokFallbackOnRateLimit: Bool = false) {
        self.byokFallbackOnRateLimit = byokFallbackOnRateLimit
    }
}
