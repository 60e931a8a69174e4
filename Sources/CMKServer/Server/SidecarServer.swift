import CMKTenant
import Hummingbird
import Logging
import ServiceLifecycle

/// `cmkctl serve`: the sidecar API and the operator's routes over one `TenantCrypto`, as services for
/// one `ServiceGroup`.
///
/// The `/v1` routes need a bearer token. `/health/*` and `/metrics` are on the admin listener when
/// there is one, else on the main listener only when it is loopback (nothing outside the machine
/// reaches them then). `/openapi.json` is on both.
public struct SidecarServer<Repository: TenantRepository>: Sendable {
    public let crypto: TenantCrypto<Repository>
    public let configuration: SidecarConfiguration
    public let metrics: SidecarMetrics
    /// The KMS event intake at `POST /v1/events/kms`; nil leaves the route out.
    public let events: KMSEventIntake<Repository>?
    public let logger: Logger

    public init(crypto: TenantCrypto<Repository>, configuration: SidecarConfiguration, metrics: SidecarMetrics,
                events: KMSEventIntake<Repository>? = nil, logger: Logger = Logger(label: "cmk.server")) {
        self.crypto = crypto
        self.events = events
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
    }

    private var operatorRoutes: OperatorRoutes {
        let crypto = self.crypto
        return OperatorRoutes(readinessChecks: [.store(crypto.repository)] + configuration.readinessChecks, metrics: metrics,
                              cryptoMetrics: { await crypto.metrics() })
    }

    /// The main listener's router: `/v1` behind the token, the document, and the operator's routes
    /// when `operatorRoutesOnMain`.
    public func mainRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: MetricsRecordingMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware())
        OperatorRoutes.addDocument(to: router)
        if configuration.operatorRoutesOnMain { operatorRoutes.addHealth(to: router) }
        // Its sender proves itself with an API key or a signature, not the applications' bearer token.
        if let events { EventRoutes(intake: events).add(to: router) }
        let v1 = router.group("v1").add(middleware: BearerAuthMiddleware(tokens: configuration.tokens))
        SidecarRoutes(crypto: crypto, maxBodyBytes: configuration.maxBodyBytes).add(to: v1)
        return router
    }

    /// The admin listener's router: health, metrics and the document, no token.
    public func adminRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        OperatorRoutes.addDocument(to: router)
        operatorRoutes.addHealth(to: router)
        return router
    }

    /// The HTTP services: the main listener, and the admin one when configured. `onListening` gets
    /// each bound address (a port 0 becomes the one the system chose).
    public func services(onListening: @escaping @Sendable (_ name: String, _ address: ListenAddress) async -> Void = { _, _ in })
        -> [any Service] {
        var services: [any Service] = [application(router: mainRouter(), address: configuration.listen, name: "main", onListening: onListening)]
        if let admin = configuration.adminListen {
            services.append(application(router: adminRouter(), address: admin, name: "admin", onListening: onListening))
        }
        return services
    }

    private func application(router: Router<BasicRequestContext>, address: ListenAddress, name: String,
                             onListening: @escaping @Sendable (String, ListenAddress) async -> Void) -> some Service {
        Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                await onListening(name, ListenAddress(host: address.host, port: channel.localAddress?.port ?? address.port))
            },
            logger: logger)
    }
}

/// How `cmkctl serve` listens and whom it lets in.
public struct SidecarConfiguration: Sendable {
    public var listen: ListenAddress
    public var adminListen: ListenAddress?
    public var tokens: BearerTokens
    /// The largest JSON body; octet-stream bodies stream without a limit.
    public var maxBodyBytes: Int
    /// Every check `/health/ready` runs; the store's is added by `SidecarServer`.
    public var readinessChecks: [ReadinessCheck]

    public static let defaultListen = ListenAddress(host: "127.0.0.1", port: 8765)
    public static let defaultMaxBodyBytes = 8 << 20

    public init(listen: ListenAddress = defaultListen, adminListen: ListenAddress? = nil, tokens: BearerTokens,
                maxBodyBytes: Int = defaultMaxBodyBytes, readinessChecks: [ReadinessCheck] = []) {
        self.listen = listen
        self.adminListen = adminListen
        self.tokens = tokens
        self.maxBodyBytes = maxBodyBytes
        self.readinessChecks = readinessChecks
    }

    /// Whether the main listener carries health and metrics.
    public var operatorRoutesOnMain: Bool { adminListen == nil && listen.isLoopback }
}
