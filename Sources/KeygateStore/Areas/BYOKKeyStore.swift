/// Organisations' own provider keys (BYOK), sealed: the store never sees a plaintext secret.
public protocol BYOKKeyStore: Sendable {
    /// Stores a new active key; an active key for the same provider becomes inactive (rotation), atomically.
    func addBYOKKey(_ key: BYOKKeyRecord) async throws
    func byokKeys(organizationID: String) async throws -> [BYOKKeyRecord]
    func byokKey(id: String, organizationID: String) async throws -> BYOKKeyRecord?
    /// The key an organisation's requests to a provider use: the active one, or the one the provider last
    /// refused (`invalid`), which keeps failing clearly instead of silently falling back to platform billing.
    /// On the request path.
    func activeBYOKKey(organizationID: String, provider: String) async throws -> BYOKKeyRecord?
    /// Activating a key deactivates the other active key of its provider. False if no such key.
    func setBYOKKeyStatus(id: String, organizationID: String, status: BYOKKeyStatus, validationResult: String?) async throws -> Bool
    func deleteBYOKKey(id: String, organizationID: String) async throws -> Bool
    /// Every key of every organisation: for master key rotation and the start-up check.
    func allBYOKKeys() async throws -> [BYOKKeyRecord]
    /// Replaces a key's ciphertext if it is still the one given (a rotation never overwrites a newer write).
    func replaceBYOKCiphertext(id: String, from old: [UInt8], to new: [UInt8], masterKeyID: String) async throws -> Bool
}
