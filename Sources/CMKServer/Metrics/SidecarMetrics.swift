import CMKEnvelope
import CMKKMS
import CMKTenant
import Hummingbird
import Prometheus
import Synchronization

/// The sidecar's Prometheus families, in one registry: per-route request counts and latencies
/// (recorded as requests finish) and TenantCrypto's counters (copied in at each scrape).
///
/// The registry is an instance the owner passes in: the command bootstraps swift-metrics with the
/// same one, tests give each server a fresh one.
public final class SidecarMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// Crypto calls take microseconds on a cache hit and tens of milliseconds with a KMS call, so the
    /// buckets start at 50 µs.
    public static let latencyBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .microseconds(2_500_000), .seconds(5), .seconds(10),
    ]

    /// Held while a scrape copies TenantCrypto's counters in, so two scrapes do not interleave.
    private let scrape = Mutex(())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Counts one finished request and its latency under its route (never its raw path, which holds
    /// tenant ids).
    func record(route: String, method: String, status: Int, duration: Duration) {
        let labels = [("route", route), ("method", method), ("status", String(status))]
        registry.makeCounter(descriptor: Self.descriptor("http", "requests", "total", "HTTP requests answered, by route, method and status"),
                             labels: labels).increment()
        registry.makeDurationHistogram(descriptor: Self.descriptor("http", "request_duration", "seconds",
                                                                   "Time to the response head, by route and method"),
                                       labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets).record(duration)
    }

    /// The exposition text with TenantCrypto's figures as they are now.
    public func render(_ crypto: TenantCryptoMetrics) -> [UInt8] {
        scrape.withLock { _ in
            let cache = crypto.cache
            let cacheFamilies: [(String, Int, String)] = [
                ("hits", cache.hits, "Materials served from the cache within every soft limit"),
                ("stale_serves", cache.staleServes, "Materials served past a soft limit while a refresh was due"),
                ("misses", cache.misses, "Requests that waited for a KMS call: nothing servable was cached"),
                ("bypasses", cache.bypasses, "Requests that went to the KMS without the cache (unknown size, signed suites)"),
                ("refreshes", cache.refreshes, "Background refreshes started"),
                ("refresh_failures", cache.refreshFailures, "Background refreshes that failed"),
                ("purges", cache.purges, "Purges of a tenant's cached materials"),
                ("purged_entries", cache.purgedEntries, "Entries dropped by purges"),
                ("evictions", cache.evictions, "Entries dropped for the entry cap"),
                ("expirations", cache.expirations, "Entries dropped at a hard limit"),
            ]
            for (name, value, help) in cacheFamilies {
                set(counter: Self.descriptor("cache", name, "total", help), to: value)
            }
            registry.makeGauge(descriptor: Self.descriptor("cache", "entries", "", "Materials held in the cache now")).set(Double(cache.entries))
            set(counter: Self.descriptor("kms", "calls", "total", "KMS calls made by encrypt and decrypt (one per region wrapped)"),
                to: crypto.kmsCalls)

            let counters = crypto.regions.counters
            let multiRegion: [(String, Int, String)] = [
                ("encrypts", counters.encrypts, "Multi-region wraps"),
                ("degraded_encrypts", counters.degradedEncrypts, "Wraps that succeeded with a region missing"),
                ("failed_encrypts", counters.failedEncrypts, "Wraps that failed"),
                ("decrypts", counters.decrypts, "Multi-region unwraps"),
                ("failed_decrypts", counters.failedDecrypts, "Unwraps that failed in every region"),
                ("hedges_started", counters.hedgesStarted, "Hedged requests to a second region"),
                ("hedges_won", counters.hedgesWon, "Unwraps won by a hedged request"),
                ("failovers", counters.failovers, "Regions asked because the one before failed"),
            ]
            for (name, value, help) in multiRegion {
                set(counter: Self.descriptor("kms_multi_region", name, "total", help), to: value)
            }
            for (region, health) in crypto.regions.health.sorted(by: { $0.key < $1.key }) {
                let labels = [("region", region)]
                set(counter: Self.descriptor("kms_region", "successes", "total", "KMS calls that succeeded, by region"), labels: labels,
                    to: health.successes)
                set(counter: Self.descriptor("kms_region", "failures", "total", "KMS calls that failed, by region"), labels: labels,
                    to: health.failures)
                registry.makeGauge(descriptor: Self.descriptor("kms_region", "failure_ratio", "", "Moving average of failures (0 to 1), by region"),
                                   labels: labels).set(health.failureRate)
                if let latency = health.latency {
                    registry.makeGauge(descriptor: Self.descriptor("kms_region", "latency", "seconds", "Moving average of KMS call latency, by region"),
                                       labels: labels).set(latency)
                }
            }
            return registry.emitToBuffer()
        }
    }

    /// A counter that mirrors a monotonic count kept elsewhere: set to it at each scrape.
    private func set(counter descriptor: MetricNameDescriptor, labels: [(String, String)] = [], to value: Int) {
        let counter = registry.makeCounter(descriptor: descriptor, labels: labels)
        counter.reset()
        counter.increment(by: Int64(value))
    }

    static func descriptor(_ subsystem: String, _ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "cmk", subsystem: subsystem, metricName: name, unitName: unit, helpText: help)
    }
}

/// Records every request's route, status and time to its response head into `SidecarMetrics`.
struct MetricsRecordingMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: SidecarMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Below the problem middleware only Hummingbird's own errors arrive here.
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.record(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: status,
                           duration: ContinuousClock.now - start)
            throw error
        }
        metrics.record(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: response.status.code,
                       duration: ContinuousClock.now - start)
        return response
    }
}
