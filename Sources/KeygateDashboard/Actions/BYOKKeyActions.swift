import KeygateCore
import KeygateStore

/// What the billing page's BYOK keys section needs (SPEC §3). KeygateServer's `BYOKService` conforms: the
/// page, the JSON API and the CLI share one implementation, and a refusal's `GatewayError` message (already in
/// words a person can act on, never containing the secret) is shown next to the form.
public protocol BYOKKeyActions: Sendable {
    /// The providers a key can be added for, in the picker's order.
    var byokProviders: [BYOKProviderChoice] { get }
    func byokKeys(organization: Organization) async throws -> [BYOKKeyRecord]
    /// Checks the key with the provider when `validate` is on, then seals and stores it.
    func addBYOKKey(organization: Organization, provider: String, secret: JSONValue, validate: Bool) async throws -> BYOKKeyRecord
    func setBYOKKeyActive(organization: Organization, keyID: String, active: Bool) async throws -> BYOKKeyRecord
    func removeBYOKKey(organization: Organization, keyID: String) async throws
}
