/// A Keygate API key as stored: its hash, never the key.
public struct APIKeyRecord: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    public var name: String
    public var lookupID: String
    public var hash: [UInt8]
    /// Prefix, lookup id and last 4 characters.
    public var preview: String
    /// Admin keys may also call the organisation's `/api/…` routes.
    public var isAdmin: Bool
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(
        id: String, organizationID: String, name: String, lookupID: String, hash: [UInt8], preview: String, isAdmin: Bool,
        createdAt: Int64, revokedAt: Int64?
    ) {
        self.id = id
        self.organizationID = organizationID
        self.name = name
        self.lookupID = lookupID
        self.hash = hash
        self.preview = preview
        self.isAdmin = isAdmin
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public var isRevoked: Bool { revokedAt != nil }
}

/// What `createAPIKey` needs: the key is hashed before it reaches the store.
public struct NewAPIKey: Sendable {
    public var organizationID: String
    public var name: String
    public var lookupID: String
    public var hash: [UInt8]
    public var preview: String
    public var isAdmin: Bool

    public init(organizationID: String, name: String, lookupID: String, hash: [UInt8], preview: String, isAdmin: Bool) {
        self.organizationID = organizationID
        self.name = name
        self.lookupID = lookupID
        self.hash = hash
        self.preview = preview
        self.isAdmin = isAdmin
    }
}

/// A key together with the organisation it belongs to: what authentication needs, in one read.
public struct AuthenticatedKey: Sendable {
    public var key: APIKeyRecord
    public var organization: Organization

    public init(key: APIKeyRecord, organization: Organization) {
        self.key = key
        self.organization = organization
    }
}
