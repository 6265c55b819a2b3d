/// An organisation's own provider key, as stored: sealed, never in plaintext.
public struct BYOKKeyRecord: Sendable, Hashable {
    public var id: String
    public var organizationID: String
    /// Catalog provider id (`anthropic`, `google`, …; never an alias).
    public var provider: String
    /// AES-GCM `combined` bytes (nonce, ciphertext, tag).
    public var ciphertext: [UInt8]
    /// Fingerprint of the master key that sealed it.
    public var masterKeyID: String
    /// Short prefix and last 4 characters of the secret.
    public var preview: String
    public var status: BYOKKeyStatus
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var lastValidatedAt: Int64?
    /// `ok`, `skipped`, or why the provider refused the key.
    public var lastValidationResult: String?

    public init(
        id: String, organizationID: String, provider: String, ciphertext: [UInt8], masterKeyID: String, preview: String,
        status: BYOKKeyStatus, createdAt: Int64, lastUsedAt: Int64? = nil, lastValidatedAt: Int64? = nil,
        lastValidationResult: String? = nil
    ) {
        self.id = id
        self.organizationID = organizationID
        self.provider = provider
        self.ciphertext = ciphertext
        self.masterKeyID = masterKeyID
        self.preview = preview
        self.status = status
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.lastValidatedAt = lastValidatedAt
        self.lastValidationResult = lastValidationResult
    }
}

public enum BYOKKeyStatus: String, Sendable, Hashable {
    /// Used for the organisation's requests to its provider (at most one per provider).
    case active
    /// Kept but not used: deactivated, or replaced by a newer key for the same provider.
    case inactive
    /// The provider refused it (401/403); not used until reactivated.
    case invalid
}
