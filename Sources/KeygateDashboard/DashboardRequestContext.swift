import Hummingbird

/// What the dashboard's routes need from the server's request context.
public protocol DashboardRequestContext: RequestContext {
    /// The client's IP address, for the per-address login back-off ("unknown" when the socket has none).
    var clientAddress: String { get }
}
