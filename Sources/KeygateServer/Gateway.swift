import KeygateCore
import KeygateDashboard
import KeygateStore
import KeygateVault
import Logging

/// The running gateway's shared, read-mostly state: passed to every route.
///
/// Plain assembly: `init` opens nothing and starts nothing. The background work (`sweeper`, `usage`) runs
/// only as services of the application `GatewayServer.application` builds, so a process that builds a
/// `Gateway` without serving (a test, a tool) neither beats a heartbeat nor sweeps.
public struct Gateway: Sendable {
    /// The configuration the process started with. What a SIGHUP may change is read from `live` instead.
    public let configuration: GatewayConfiguration
    /// Fees, trial policy, packs, tiers and prices in force (`ConfigurationReloader` replaces them on SIGHUP).
    public let live: LiveSettings
    public var catalog: Catalog { live.catalog.value }
    public let store: any Store
    public let keyring: MasterKeyring
    let byokKeys: BYOKKeyCache
    let apiKeys: APIKeyCache
    let suspensions: SuspensionCache
    public let logger: Logger
    public let upstream: UpstreamClients
    let usage: UsageRecorder
    let credits: CreditMeter
    /// This process, for reservations and the sweeper's heartbeat.
    let instanceID: String
    let sweeper: CreditSweeper
    /// The credit packs in force (`KEYGATE_PACKS` or the built-in set).
    public var packs: CreditPacks { live.packs.value }
    /// Nil without `KEYGATE_STRIPE_SECRET_KEY`.
    let stripe: StripeClient?
    let autoTopUp: AutoTopUp
    /// Cuts the exchanges still running when a graceful stop's grace period is over (`GracefulShutdown`).
    public let shutdownDeadline = ShutdownDeadline()
    /// Drops cache entries changed by other processes as soon as the store announces them.
    var changes: ChangeFollower { ChangeFollower(feed: store, apiKeys: apiKeys, byokKeys: byokKeys, suspensions: suspensions, logger: logger) }
    /// The dashboard's templates and stylesheet, every one checked when the gateway is built.
    let dashboardTemplates: DashboardTemplates
    /// What `/metrics` serves: this gateway's own registry (the store reports its commits into it too).
    public let metrics: GatewayMetrics

    public init(
        configuration: GatewayConfiguration, catalog: Catalog, packs: CreditPacks, store: any Store, keyring: MasterKeyring, logger: Logger,
        metrics: GatewayMetrics? = nil
    ) throws {
        let metrics = metrics ?? GatewayMetrics(configuration: configuration)
        self.metrics = metrics
        self.configuration = configuration
        let live = LiveSettings(configuration: configuration, catalog: catalog, packs: packs)
        self.live = live
        self.store = store
        self.keyring = keyring
        self.byokKeys = BYOKKeyCache(store: store, keyring: keyring)
        self.apiKeys = APIKeyCache(store: store)
        self.suspensions = SuspensionCache(store: store)
        self.logger = logger
        self.upstream = UpstreamClients(configuration: configuration)
        self.usage = UsageRecorder(store: store, logger: logger)
        self.instanceID = Identifiers.make("inst")
        self.credits = CreditMeter(
            store: store, jobs: store, policySource: live.creditPolicy, instanceID: instanceID,
            leaseSeconds: configuration.reservationLeaseSeconds, metrics: metrics)
        self.sweeper = CreditSweeper(
            store: store, instanceID: instanceID, intervalMs: configuration.sweepIntervalSeconds * 1000,
            deadAfterMs: configuration.instanceDeadAfterSeconds * 1000, logger: logger)
        let stripe = configuration.payments.secretKey.map { StripeClient(settings: configuration.payments, secretKey: $0, logger: logger) }
        self.stripe = stripe
        self.dashboardTemplates = try DashboardTemplates()
        self.autoTopUp = AutoTopUp(
            store: store, packs: live.packs, charger: stripe.map { TopUpCharger(stripe: $0, store: store, logger: logger, metrics: metrics) },
            retryAfterSeconds: configuration.payments.topUpRetrySeconds, logger: logger)
    }

    /// The scheduled BYOK key checks (`KEYGATE_BYOK_HEALTH_INTERVAL`), nil when turned off; with the operator
    /// webhook when `KEYGATE_OPERATOR_WEBHOOK_URL` is set.
    var byokHealth: BYOKHealthChecker? {
        guard let interval = configuration.byokHealthInterval else { return nil }
        let webhook = configuration.operatorWebhookURL.flatMap { url in
            configuration.operatorWebhookSecret.map {
                OperatorWebhook(url: url, secret: $0, client: upstream.client(for: "operator-webhook"), logger: logger)
            }
        }
        return BYOKHealthChecker(
            store: store, keyring: keyring, catalog: live.catalog, validator: ProviderKeyValidator(upstream: upstream, catalog: live.catalog),
            keyCache: byokKeys, interval: interval, webhook: webhook, logger: logger)
    }

    /// Buying credits, as the routes use it: changes reach this process's auto top-up at once.
    var payments: PaymentService {
        PaymentService(
            store: store, packs: live.packs, settings: configuration.payments, stripe: stripe, logger: logger,
            onAccountChange: { [autoTopUp] in autoTopUp.accountChanged(organizationID: $0) })
    }

    /// Jobs (SPEC §5): one credit hold for many calls, with the operator's tiers and failed-job policy.
    var jobs: JobService {
        JobService(store: store, tierSource: live.jobTiers, failedJobPolicySource: live.failedJobPolicy)
    }

    /// Dashboard users and sessions (login, back-off), as the routes and `keygate user` use them.
    public var accounts: DashboardAccounts { DashboardAccounts(store: store, hasher: PasswordHasher(cost: configuration.passwordHashCost)) }

    var dashboard: DashboardRoutes<GatewayRequestContext> {
        DashboardRoutes(
            accounts: accounts, templates: dashboardTemplates, balances: store, loginForm: LoginFormToken(masterKey: keyring.current.key),
            publicURL: configuration.payments.publicURL,
            services: DashboardServices(
                billing: payments, keys: BYOKService(gateway: self), settings: AdminService(store: store),
                labModels: { [catalog = live.catalog] in
                    let catalog = catalog.value
                    return catalog.models.compactMap { model in
                        catalog.resolve(model: model.provider + "/" + model.id).map {
                            LabModel(id: $0.publicID, provider: $0.provider.id, isFree: $0.isFree)
                        }
                    }
                }))
    }

    var stripeWebhook: StripeWebhookHandler {
        StripeWebhookHandler(
            store: store, webhookSecret: configuration.payments.webhookSecret, stripe: stripe,
            onAccountChange: { [autoTopUp] in autoTopUp.accountChanged(organizationID: $0) }, logger: logger)
    }

    /// The last step of a stop, after the application's services have returned (see
    /// `GatewayServer.application` for their order): writes any usage record handed over after the recorder
    /// stopped (none when the HTTP server stopped first), closes outgoing connections, then the database.
    public func shutdown() async {
        await usage.writeQueued()
        await upstream.shutdown()
        await stripe?.shutdown()
        try? await store.close()
    }
}
