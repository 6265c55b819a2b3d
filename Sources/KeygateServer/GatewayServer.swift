import Hummingbird
import KeygateCore
import KeygateDashboard
import Logging
import NIOCore
import ServiceLifecycle

/// Builders for the gateway's HTTP server: its router (routes, middleware) and the Hummingbird application
/// that runs it with the gateway's background services.
public enum GatewayServer {
    public static func router(for gateway: Gateway) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        router.add(middleware: APIErrorMiddleware(bodyLimit: gateway.configuration.maxBodyBytes))
        router.add(middleware: MetricsMiddleware(metrics: gateway.metrics))
        router.get("/metrics", use: MetricsRoute(metrics: gateway.metrics).handle)

        let health = HealthRoutes(store: gateway.store)
        router.get("/healthz", use: health.health)
        router.get("/readyz", use: health.ready)

        let models = ModelsRoutes(gateway: gateway)
        let pipeline = CallPipeline(gateway: gateway)
        let chat = ChatCompletionsRoute(pipeline: pipeline, maxBodyBytes: gateway.configuration.maxBodyBytes)
        let v1 = router.group("v1").add(middleware: APIKeyAuthenticator(keys: gateway.apiKeys, suspensions: gateway.suspensions))
        v1.get("models", use: models.list)
        v1.get("models/**", use: models.retrieve)
        v1.post("chat/completions", use: chat.handle)
        v1.post("messages", use: MessagesRoute(pipeline: pipeline, maxBodyBytes: gateway.configuration.maxBodyBytes).handle)

        let byok = BYOKKeysRoutes(service: BYOKService(gateway: gateway))
        let dashboard = gateway.dashboard
        let org = router.group("api/orgs/:slug")
            .add(middleware: OrganizationAccessPolicy(keys: APIKeyAuthenticator(keys: gateway.apiKeys), dashboard: dashboard))
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
        let payments = PaymentRoutes(service: gateway.payments)
        org.get("packs", use: payments.packs)
        org.post("checkout", use: payments.checkout)
        org.get("auto-topup", use: payments.autoTopUp)
        org.put("auto-topup", use: payments.updateAutoTopUp)
        org.get("purchases", use: payments.purchases)
        let jobs = JobRoutes(jobs: gateway.jobs)
        org.post("jobs", use: jobs.open)
        org.get("jobs", use: jobs.list)
        org.get("jobs/:id", use: jobs.receipt)
        org.post("jobs/:id/complete", use: jobs.complete)
        org.post("jobs/:id/fail", use: jobs.fail)
        org.get("tiers", use: jobs.tiers)
        let settings = SettingsRoutes(settings: AdminService(store: gateway.store), accounts: gateway.accounts)
        org.get("api-keys", use: settings.apiKeys)
        org.post("api-keys", use: settings.createAPIKey)
        org.post("api-keys/:id/revoke", use: settings.revokeAPIKey)
        org.get("settings", use: settings.show)
        org.put("settings", use: settings.update)
        org.get("members", use: settings.members)
        AdminRoutes(gateway: gateway).register(on: router)
        router.post("webhooks/stripe", use: StripeWebhookRoute(handler: gateway.stripeWebhook).handle)
        router.post(
            DashboardRoutes<GatewayRequestContext>.labChatPath,
            use: LabChatRoute(dashboard: dashboard, chat: chat, admin: AdminService(store: gateway.store), suspensions: gateway.suspensions).handle)
        dashboard.register(on: router)
        return router
    }

    /// The application for `keygate serve`. `onServerRunning` receives the bound port (useful with port 0).
    ///
    /// Stop order. Hummingbird runs `services` and then its own (date cache, HTTP server) in one
    /// `ServiceGroup`, which stops them one by one in reverse order on graceful shutdown (SIGTERM/SIGINT with
    /// `runService()`). So a stop goes:
    /// 1. the HTTP server stops accepting and finishes the requests in flight, which hand over their last
    ///    usage records;
    /// 2. auto top-up stops taking new work (a charge cut short stays pending and is asked about again, with
    ///    the same idempotency key, by the next process that runs);
    /// 3. the usage recorder writes everything queued, then returns;
    /// 4. the credit sweeper stops (after the recorder: a sweep never competes with the last writes, and the
    ///    heartbeat holds until the last request has settled);
    /// (before all these, the scheduled BYOK key checks stop: a check cut short is made again next interval;)
    /// then, after `run` returns, `Gateway.shutdown()` closes the upstream clients and the store. A service
    /// that must outlive every writer (a database checkpointer) goes first in the list. `reloadsOnSIGHUP` adds
    /// the `ConfigurationReloader` (`keygate serve`; a test process leaves its signals alone).
    public static func application(
        gateway: Gateway, host: String, port: Int, reloadsOnSIGHUP: Bool = false,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var services: [any Service] = gateway.store.backgroundServices + [gateway.changes, gateway.sweeper, gateway.usage, gateway.autoTopUp]
        // Last, so it stops first: a check cut short is simply made again next interval.
        if let byokHealth = gateway.byokHealth { services.append(byokHealth) }
        if reloadsOnSIGHUP { services.append(ConfigurationReloader(gateway: gateway)) }
        return Application(
            router: router(for: gateway),
            server: .http1(configuration: .init(additionalChannelHandlers: [ClientHangupHandler()])),
            configuration: .init(address: .hostname(host, port: port), serverName: "keygate"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: gateway.logger)
    }
}
