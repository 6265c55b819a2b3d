import Hummingbird
import KeygateCore
import Logging
import NIOCore

/// Builds the Hummingbird application: routes, middleware, server settings.
public enum GatewayApplication {
    public static func router(for gateway: Gateway) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: APIErrorMiddleware(bodyLimit: gateway.configuration.maxBodyBytes))

        let health = HealthRoutes(store: gateway.store)
        router.get("/healthz", use: health.health)
        router.get("/readyz", use: health.ready)

        let models = ModelsRoutes(gateway: gateway)
        let chat = ChatCompletionsRoute(gateway: gateway)
        let v1 = router.group("v1").add(middleware: APIKeyAuthenticator(keys: gateway.apiKeys))
        v1.get("models", use: models.list)
        v1.get("models/**", use: models.retrieve)
        v1.post("chat/completions", use: chat.handle)
        v1.post("messages", use: MessagesRoute(gateway: gateway).handle)

        let byok = BYOKKeysRoutes(service: BYOKService(gateway: gateway))
        let org = router.group("api/orgs/:slug")
            .add(middleware: APIKeyAuthenticator(keys: gateway.apiKeys))
            .add(middleware: OrganizationAdminPolicy())
        org.get("byok-keys", use: byok.list)
        org.post("byok-keys", use: byok.add)
        org.post("byok-keys/:id/deactivate", use: byok.deactivate)
        org.post("byok-keys/:id/activate", use: byok.activate)
        org.delete("byok-keys/:id", use: byok.delete)
        org.get("usage", use: UsageRoutes(store: gateway.store).list)
        let credits = CreditRoutes(gateway: gateway)
        org.get("balance", use: credits.balance)
        org.get("ledger", use: credits.ledger)
        org.post("estimate", use: credits.estimate)
        return router
    }

    /// The application for `keygate serve`. `onServerRunning` receives the bound port (useful with port 0).
    public static func make(gateway: Gateway, host: String, port: Int,
                            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(for: gateway),
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientHangupHandler()])),
            configuration: .init(address: .hostname(host, port: port), serverName: "keygate"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: gateway.logger)
    }
}
