import ArgumentParser
import CMKKMS
import CMKServer
import CMKTenant
import Foundation
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `cmkctl serve`: the HTTP sidecar over the tenant store, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve tenant encrypt, decrypt, batch and rewrap over HTTP (the sidecar), with health, metrics and OpenAPI.",
        discussion: """
        Routes: POST /v1/tenants/{tenant}/encrypt, /decrypt (JSON with base64, or application/octet-stream \
        streamed with the context in the Cmk-Encryption-Context header), /batch/encrypt, /batch/decrypt, \
        /rewrap; GET /v1/tenants/{tenant}. Every /v1 route needs Authorization: Bearer with a token of \
        --token-file (one per line; several during a rotation). GET /health/live, /health/ready and /metrics \
        are on --admin-listen when given, else on --listen only when it is loopback; GET /openapi.json on both. \
        Errors are application/problem+json with a stable code. SIGTERM or SIGINT stops accepting connections, \
        lets requests in flight finish, and exits 0. Each listener prints one line \
        "cmkctl serve: NAME listening on http://HOST:PORT" on stdout once it is bound (--listen HOST:0 picks a port).
        Exit status: 0 stopped by a signal, 64 bad arguments, 74 the store cannot be opened, 78 the token file or \
        the operator configuration is wrong, 70 a listener could not start.
        """)

    @Option(help: ArgumentHelp("Where the sidecar API listens.", valueName: "host:port"))
    var listen: String = SidecarConfiguration.defaultListen.description

    @Option(name: .customLong("admin-listen"), help: ArgumentHelp("A second listener for /health/*, /metrics and /openapi.json, without a token.", valueName: "host:port"))
    var adminListen: String?

    @Option(name: .customLong("token-file"), help: ArgumentHelp("Bearer tokens, one per line (at least 16 visible ASCII characters each).", valueName: "path"))
    var tokenFile: String

    @Option(name: .customLong("max-body-bytes"), help: "The largest JSON request body, 1 KiB to 1 GiB; application/octet-stream bodies stream without a limit.")
    var maxBodyBytes: Int = SidecarConfiguration.defaultMaxBodyBytes

    @Option(help: "Profile of the shared credentials file (default: AWS_PROFILE or default).")
    var profile: String?

    @Option(name: .customLong("kms-timeout"), help: "Seconds one KMS call may take, 0.1 to 300.")
    var kmsTimeout: Double = 10

    @Option(name: .customLong("min-regions"), help: "Fail an encrypt unless this many regions of a multi-region tenant wrapped its data key (1 to 64).")
    var minimumRegions: Int = 1

    @Option(name: .customLong("change-poll-ms"), help: "How often the tenant change feed is read, in milliseconds (1 to 60000); on PostgreSQL a NOTIFY wakes it at once.")
    var changePollMilliseconds: Int = 100

    @Option(name: .customLong("webhook-secret-file"), help: ArgumentHelp("Standard Webhooks secrets (whsec_…, one per line) that KMS event senders may sign with; without it, POST /v1/events/kms takes only per-tenant API keys (cmkctl webhooks issue-key).", valueName: "path"))
    var webhookSecretFile: String?

    @Option(help: "Directory of workflow definitions to run instead of the built-in ones.")
    var workflows: String?

    @Option(help: "Seconds the worker's claim on an execution lasts without renewal (1 to 86400).")
    var leaseSeconds: Double = 10

    /// Below the configuration's 60 s floor, so `bench revocation --mode sweep` and its test can measure
    /// the sweep's bound in seconds rather than minutes; hidden because no fleet should probe that often.
    @Option(name: .customLong("probe-seconds"), help: ArgumentHelp("Seconds between probe sweeps, overriding schedules.probeSeconds (1 to 86400; for benchmarks).", visibility: .hidden))
    var probeSeconds: Double?

    @OptionGroup var tenantStore: TenantStoreOptions

    func validate() throws {
        for (flag, value) in [("--listen", listen), ("--admin-listen", adminListen)] {
            guard let value else { continue }
            do { _ = try ListenAddress(parsing: value) } catch let error as ServerError { throw ValidationError("\(flag) \(error.message)") }
        }
        try OptionRange("--max-body-bytes", 1024...(1 << 30), "bytes").check(maxBodyBytes)
        try OptionLimits.kmsTimeout.check(kmsTimeout)
        try OptionLimits.minimumRegions.check(minimumRegions)
        try OptionRange("--change-poll-ms", 1...60_000, "milliseconds").check(changePollMilliseconds)
        try OptionLimits.leaseSeconds.check(leaseSeconds)
        if let probeSeconds { try OptionRange("--probe-seconds", 1...86_400, "seconds").check(probeSeconds) }
    }

    func run() async throws {
        // Everything the user gave is read before the store is opened or a port bound.
        let configuration = SidecarConfiguration(
            listen: try ListenAddress(parsing: listen), adminListen: try adminListen.map { try ListenAddress(parsing: $0) },
            tokens: try BearerTokens(contentsOf: tokenFile), maxBodyBytes: maxBodyBytes)
        let signatures = try webhookSecretFile.map { path in
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw ServerError(.configuration, "cannot read the webhook secret file \(path)")
            }
            let secrets = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            do { return try StandardWebhook(secrets: secrets) } catch let error as TenantError {
                throw ServerError(.configuration, "\(path): \(error.message)")
            }
        }
        let process = "serve-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        let options = ServeRuntimeOptions(signatures: signatures, changePoll: .milliseconds(Int64(changePollMilliseconds)), process: process,
                                          workflows: WorkflowDefinitions(directory: workflows), leaseSeconds: leaseSeconds,
                                          probeSeconds: probeSeconds)
        // The one bootstrap of swift-metrics in the process: libraries that report through it land in
        // the same registry /metrics exposes.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let metrics = SidecarMetrics(registry: registry)
        let timeout = Duration.milliseconds(Int64((kmsTimeout * 1000).rounded()))
        let cryptoConfiguration = TenantCryptoConfiguration(multiRegion: MultiRegionKeyring.Configuration(minimumRegions: minimumRegions, wrapTimeout: timeout))
        try await tenantStore.withTenantStore(profile: profile, timeoutSeconds: kmsTimeout) { operatorConfiguration, kms, store in
            try await Self.serve(store: store, operatorConfiguration: operatorConfiguration, kms: kms, cryptoConfiguration: cryptoConfiguration,
                                 configuration: configuration, metrics: metrics, options: options)
        }
    }

    /// Runs the server on the store's own repository type until a signal; generic so TenantCrypto is too.
    private static func serve<Store: StoreBackend>(store: Store, operatorConfiguration: OperatorConfiguration, kms: TenantKMS,
                                                   cryptoConfiguration: TenantCryptoConfiguration,
                                                   configuration: SidecarConfiguration, metrics: SidecarMetrics,
                                                   options: ServeRuntimeOptions) async throws {
        let logger = Logger(label: "cmk.server")
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: operatorConfiguration, kms: kms,
                                      configuration: cryptoConfiguration)
        // Tenant state from every other process: snapshots and data keys dropped on each change, and this
        // process's purge of a suspended tenant recorded (the end of its revocation bound).
        let follower = crypto.changeFollower(pollInterval: options.changePoll, processName: options.process)
        var configuration = configuration
        configuration.readinessChecks.append(ReadinessCheck(name: "change-feed") {
            guard follower.isCurrent else { throw ServerError(.configuration, "the tenant change feed has not been read recently") }
        })
        // The engine's worker: revocation checks started by KMS events (and any other work) run here.
        let runtime = TenantRuntime(store: store, configuration: operatorConfiguration, workflows: options.workflows,
                                    leaseSeconds: options.leaseSeconds)
        let worker = try runtime.worker(kms: kms, owner: options.process)
        let revocations = try runtime.revocationService()
        let events = KMSEventIntake(repository: store.repository, revocations: revocations, signatures: options.signatures)
        let schedule = ProbeSchedule(revocations: revocations, period: options.probeSeconds ?? operatorConfiguration.schedules.probeSeconds)
        let server = SidecarServer(crypto: crypto, configuration: configuration, metrics: metrics, events: events, logger: logger)
        var services = server.services { name, address in
            FileHandle.standardOutput.write(Data("cmkctl serve: \(name) listening on http://\(address)\n".utf8))
        }
        services.append(BackgroundService(name: "change-feed") { await follower.run() })
        services.append(BackgroundService(name: "worker") { try? await worker.run() })
        services.append(BackgroundService(name: "probe-schedule") { await schedule.run() })
        // Backups that are due (schedules.backupSeconds): checked every quarter period, at most hourly, the
        // first check a random part of a minute after start (a server just started answers requests and
        // KMS events first, and a fleet restarted together does not back up in step); a tenant refused by
        // its lifecycle (re-encrypting, suspended) is recorded as skipped. Pending re-encryptions need no
        // schedule: they are workflow executions, and the worker above runs them.
        let backups = try runtime.backupService(kms: kms)
        let backupCheck = min(3600, operatorConfiguration.schedules.backupSeconds / 4)
        services.append(BackgroundService(name: "backup-schedule") {
            do { try await Task.sleep(for: .seconds(Double.random(in: 10...min(60, max(10, backupCheck))))) } catch { return }
            while !Task.isCancelled {
                _ = try? await backups.sweep(cause: Cause(operatorName: "cmkctl serve backup schedule"))
                do { try await Task.sleep(for: .seconds(backupCheck)) } catch { return }
            }
        })
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                                                                          logger: logger))
        try await group.run()
    }
}

/// What `serve` runs beside the HTTP listeners.
struct ServeRuntimeOptions {
    let signatures: StandardWebhook?
    let changePoll: Duration
    let process: String
    let workflows: WorkflowDefinitions
    let leaseSeconds: Double
    /// `--probe-seconds`, when given: the sweep period instead of the configuration's.
    let probeSeconds: Double?
}

/// A long-running task as a `Service`: cancelled when the group shuts down gracefully (a step cut short
/// is taken up again from the journal).
struct BackgroundService: Service {
    let name: String
    let body: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await body()
        }
    }
}
