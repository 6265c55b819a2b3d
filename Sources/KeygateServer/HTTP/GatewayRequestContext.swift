import Hummingbird
import KeygateDashboard
import KeygateCore
import KeygateStore
import NIOCore

/// Per-request state: the request id, the caller once authenticated, and the client's connection (watched so
/// that an upstream call stops when the client goes away).
public struct GatewayRequestContext: RequestContext, DashboardRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client connection; `isActive` turns false when the client disconnects.
    public let channel: any Channel
    /// `req_…`, sent back as `x-request-id` and kept in the usage record.
    public let requestID: String
    /// When the request arrived, for latency.
    public let startedAt: ContinuousClock.Instant
    /// Set by `APIKeyAuthenticator`.
    public var caller: AuthenticatedKey?
    /// The organisation an `/api/orgs/{slug}` route acts on, set by `OrganizationAccessPolicy` for an admin
    /// key of it or a signed-in member.
    public var organization: Organization?
    /// The operator, on a route behind `OperatorAuthenticator` (`/api/admin/…`).
    public var operatorToken: OperatorToken?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
        self.requestID = Identifiers.make("req")
        self.startedAt = .now
        self.logger[metadataKey: "request_id"] = .string(requestID)
    }

    /// The client's IP address (the login back-off counts failures per address).
    public var clientAddress: String { channel.remoteAddress?.ipAddress ?? "unknown" }

    /// The organisation, on a route behind `OrganizationAccessPolicy` (which always sets it); without one, a 401.
    public func requireOrganization() throws(GatewayError) -> Organization {
        guard let organization else { throw GatewayError.invalidAPIKey }
        return organization
    }

    /// The caller, on a route behind `APIKeyAuthenticator` (which always sets it); without one, a 401.
    public func requireCaller() throws(GatewayError) -> AuthenticatedKey {
        guard let caller else { throw GatewayError.invalidAPIKey }
        return caller
    }
}
