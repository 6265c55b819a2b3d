import HTTPTypes
import Hummingbird
import KeygateCore
import KeygateStore
import KeygateVault

/// Authenticates `/v1` calls by Keygate API key (`Authorization: Bearer kg_…`, or `x-api-key` as the
/// Anthropic SDK sends it): the stored key by lookup id (cached, `APIKeyCache`), then a constant-time hash
/// comparison; with `suspensions` (the `/v1` routes), a suspended organisation's key is refused with 403.
struct APIKeyAuthenticator: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let keys: APIKeyCache
    var suspensions: SuspensionCache? = nil

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Self.presentedKey(in: request) else { throw GatewayError.missingAPIKey }
        guard let lookupID = APIKeyGenerator.lookupID(of: presented),
            let found = try await keys.key(lookupID: lookupID),
            APIKeyGenerator.matches(presented, storedHash: found.key.hash),
            !found.key.isRevoked
        else { throw GatewayError.invalidAPIKey }
        if let suspensions, try await suspensions.suspension(organizationID: found.organization.id) != nil {
            throw GatewayError.organizationSuspended(found.organization.slug)
        }
        var context = context
        context.caller = found
        context.logger[metadataKey: "org"] = .string(found.organization.slug)
        return try await next(request, context)
    }

    /// The presented key: `Authorization: Bearer <key>` (scheme case-insensitive), else `x-api-key`.
    static func presentedKey(in request: Request) -> String? {
        if let authorization = request.headers[.authorization] {
            var bytes = authorization.utf8[...]
            guard bytes.count > 7, bytes.prefix(7).elementsEqual("bearer ".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
            bytes = bytes.dropFirst(7)
            while bytes.first == UInt8(ascii: " ") { bytes = bytes.dropFirst() }
            while bytes.last == UInt8(ascii: " ") || bytes.last == UInt8(ascii: "\t") { bytes = bytes.dropLast() }
            return bytes.isEmpty ? nil : String(Substring(bytes))
        }
        if let key = request.headers[.xAPIKey], !key.isEmpty { return key }
        return nil
    }
}
