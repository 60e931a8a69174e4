import ArgumentParser
import CMKBenchmarks
import CMKEnvelope
import CMKKMS
import CMKPeers
import Foundation

/// `cmkctl bench cache`: KMS calls per 1,000 operations under a Cryptor-like many-tenant mix, and
/// encrypt latency while a region hangs.
struct BenchCacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "KMS calls per 1,000 tenant operations through the materials cache, and encrypt latency while a region hangs.",
        discussion: """
        Writes --tenants tenants into a temporary SQLite store and runs --operations encrypts and \
        decrypts through TenantCrypto, tenants drawn from a Zipf distribution, on a simulated clock: \
        operation i happens at i / --ops-per-second seconds, so the cache's soft and hard ages are \
        crossed as they would be at that rate. Prints KMS calls per 1,000 operations (Cryptor's figure \
        is about 2.1), hit ratio, stale serves and refreshes, for the whole run and from the first hard \
        age on. Then encrypts for tenants whose second region never answers, before and past the soft \
        age, and prints both latencies: a background refresh must not show in the p99.
        """)

    @Option(help: "KMS: local (in-process file KMS) or moto (moto_server, two regions).")
    var kms: CacheBenchmark.KMS = .local
    @Option(name: .customLong("moto-server"), help: "Path of moto_server (default: next to $CMK_PEER_PYTHON, else ./.venv/bin).")
    var motoServer: String?
    @Option(help: "Tenants (1 to 1000000).") var tenants: Int = 10_000
    @Option(help: "Operations in the mix (1 to 1000000000).") var operations: Int = 1_200_000
    @Option(name: .customLong("ops-per-second"), help: "Traffic the operations stand for (Cryptor: about 137000).")
    var opsPerSecond: Double = 137_000
    @Option(help: "Zipf exponent of tenant access (0 to 4).") var zipf: Double = 1.0
    @Option(name: .customLong("decrypt-share"), help: "Share of decrypts, 0 to 1 (Cryptor: 0.93).") var decryptShare: Double = 0.93
    @Option(name: .customLong("record-bytes"), help: "Plaintext bytes per record (1 to 65536).") var recordBytes: Int = 200
    @Option(name: .customLong("soft-age"), help: "Cache soft age in seconds (refresh in the background); default 1/100 of the product's 240 s, so a run crosses the hard age.")
    var softAge: Double = 2.4
    @Option(name: .customLong("hard-age"), help: "Cache hard age in seconds (never served after); default 1/100 of the product's 300 s.")
    var hardAge: Double = 3
    @Option(name: .customLong("max-entries"), help: "Cache entry cap (LRU).") var maxEntries: Int = 100_000
    @Option(name: .customLong("max-refreshes"), help: "Background refreshes in flight at once (1 to 1000000; the product's default is 20).")
    var maxRefreshes: Int = 20
    @Flag(name: .customLong("seed-decryption"), help: "New encryption materials also seed the decryption entry of the messages they write.")
    var seedDecryption = false
    @Option(help: "Operations in flight (1 to 256).") var concurrency: Int = 4
    @Option(name: .customLong("hang-encrypts"), help: "Encrypts per latency figure with a hanging region (0 skips that part).")
    var hangEncrypts: Int = 2_000
    @Option(name: .customLong("hang-tenants"), help: "Tenants with a hanging second region (1 to 100000).") var hangTenants: Int = 200
    @Option(name: .customLong("wrap-timeout-ms"), help: "How long a wrap waits for a region (1 to 60000 ms).") var wrapTimeoutMs: Int = 3_000
    @Option(help: "Seed of the tenant and operation draws.") var seed: UInt64 = 1
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--tenants", 1...1_000_000, "tenants").check(tenants)
        try OptionRange("--operations", 1...1_000_000_000, "operations").check(operations)
        try OptionRange("--ops-per-second", 1...100_000_000, "operations per second").check(opsPerSecond)
        try OptionRange("--zipf", 0...4, "(exponent)").check(zipf)
        try OptionRange("--decrypt-share", 0...1, "(share)").check(decryptShare)
        try OptionRange("--record-bytes", 1...65_536, "bytes").check(recordBytes)
        try OptionRange("--soft-age", 0.001...86_400, "seconds").check(softAge)
        try OptionRange("--hard-age", 0.001...86_400, "seconds").check(hardAge)
        guard hardAge >= softAge else { throw ValidationError("--hard-age must be at least --soft-age") }
        try OptionRange("--max-entries", 1...100_000_000, "entries").check(maxEntries)
        try OptionRange("--concurrency", 1...256, "operations").check(concurrency)
        try OptionRange("--max-refreshes", 1...1_000_000, "refreshes").check(maxRefreshes)
        try OptionRange("--hang-encrypts", 0...1_000_000, "encrypts").check(hangEncrypts)
        try OptionRange("--hang-tenants", 1...100_000, "tenants").check(hangTenants)
        try OptionRange("--wrap-timeout-ms", 1...60_000, "milliseconds").check(wrapTimeoutMs)
    }

    func run() async throws {
        var limits = MaterialsCache.Limits()
        limits.softAge = .milliseconds(Int64((softAge * 1000).rounded()))
        limits.hardAge = .milliseconds(Int64((hardAge * 1000).rounded()))
        limits.maxEntries = maxEntries
        limits.seedsDecryption = seedDecryption
        limits.maxRefreshesInFlight = maxRefreshes
        let options = CacheBenchmark.Options(
            kms: kms, motoExecutable: motoServer ?? MotoServer.locateExecutable(packageRoot: FileManager.default.currentDirectoryPath),
            tenants: tenants, operations: operations, opsPerSecond: opsPerSecond, zipfExponent: zipf, decryptShare: decryptShare,
            recordBytes: recordBytes, cacheLimits: limits, concurrency: concurrency, hangEncrypts: hangEncrypts, hangTenants: hangTenants,
            wrapTimeout: .milliseconds(wrapTimeoutMs), seed: seed)
        let quiet = output.json
        let report = try await CacheBenchmark(options: options).run { step in
            if !quiet { FileHandle.standardError.write(Data("bench: \(step)\n".utf8)) }
        }
        if output.json {
            KMSCommandSupport.printJSON(json(report))
        } else {
            printTable(report)
        }
    }

    /// KMS calls per tenant per soft age after the first hard age, and what the same would give at
    /// the product's 240 s soft age and this rate: an estimate, since each active tenant costs about
    /// one call per entry per soft age whatever the age (it assumes every tenant stays active).
    private func projection(_ report: CacheBenchmark.Report) -> (perTenantPerSoftAge: Double, atProductAges: Double)? {
        guard let steady = report.mix.steady, steady.simulatedSeconds > 0 else { return nil }
        let perTenant = Double(steady.kmsCalls) / Double(tenants) / (steady.simulatedSeconds / softAge)
        return (perTenant, 1000 * perTenant * Double(tenants) / (opsPerSecond * 240))
    }

    /// Cryptor: 25.35 M KMS calls for 11.8 G operations a day.
    static let cryptorCallsPerThousand = 2.1
    static let aimCallsPerThousand = 1.0

    private func windowJSON(_ window: CacheBenchmark.Window) -> JSONValue {
        [
            "operations": .number(Double(window.operations)),
            "encrypts": .number(Double(window.encrypts)),
            "decrypts": .number(Double(window.decrypts)),
            "simulatedSeconds": .number(Self.round(window.simulatedSeconds)),
            "kmsCalls": .number(Double(window.kmsCalls)),
            "kmsCallsPerThousand": .number(Self.round(window.kmsCallsPerThousand)),
            "kmsCallsPerThousandRatioToCryptor": .number(Self.round(window.kmsCallsPerThousand / Self.cryptorCallsPerThousand)),
            "hitRatio": .number(Self.round(window.hitRatio, places: 6)),
            "hits": .number(Double(window.cache.hits)),
            "staleServes": .number(Double(window.cache.staleServes)),
            "misses": .number(Double(window.cache.misses)),
            "refreshes": .number(Double(window.cache.refreshes)),
            "refreshFailures": .number(Double(window.cache.refreshFailures)),
            "expirations": .number(Double(window.cache.expirations)),
            "evictions": .number(Double(window.cache.evictions)),
            "seededDecryptions": .number(Double(window.cache.seededDecryptions)),
        ]
    }

    private func json(_ report: CacheBenchmark.Report) -> JSONValue {
        var object: JSONObject = [
            "kms": .string(kms.rawValue),
            "tenants": .number(Double(tenants)),
            "opsPerSecond": .number(opsPerSecond),
            "softAgeSeconds": .number(softAge),
            "hardAgeSeconds": .number(hardAge),
            "seedsDecryption": .bool(seedDecryption),
            "regions": .number(Double(report.mix.regions)),
            "wallSeconds": .number(Self.round(report.mix.wallSeconds)),
            "operationsPerWallSecond": .number(Self.round(report.mix.operationsPerWallSecond)),
            "hardAgesCrossed": .number(Self.round(report.mix.whole.simulatedSeconds / hardAge)),
            "targetKmsCallsPerThousand": .number(Self.cryptorCallsPerThousand),
            "whole": windowJSON(report.mix.whole),
        ]
        if let steady = report.mix.steady { object["afterFirstHardAge"] = windowJSON(steady) }
        if let projection = projection(report) {
            object["kmsCallsPerTenantPerSoftAge"] = .number(Self.round(projection.perTenantPerSoftAge))
            object["estimatedKmsCallsPerThousandAtSoftAge240"] = .number(Self.round(projection.atProductAges))
        }
        if let hang = report.hang {
            object["hangingRegion"] = [
                "fresh": hang.fresh.json,
                "hanging": hang.hanging.json,
                "p99Ratio": .number(Self.round(hang.p99Ratio)),
                "refreshesStarted": .number(Double(hang.refreshesStarted)),
                "staleServes": .number(Double(hang.staleServes)),
                "misses": .number(Double(hang.misses)),
                "refreshFailures": .number(Double(hang.refreshFailures)),
                "refreshesDeferred": .number(Double(hang.refreshesDeferred)),
                "maxRefreshesInFlight": .number(Double(maxRefreshes)),
                "wrapTimeoutMs": .number(Double(wrapTimeoutMs)),
            ]
        }
        return .object(object)
    }

    private func printTable(_ report: CacheBenchmark.Report) {
        let mix = report.mix
        print("cmkctl bench cache (kms \(kms.rawValue), \(mix.regions) region(s) per generation, \(tenants) tenants, Zipf s=\(zipf), "
            + "\(Int((decryptShare * 100).rounded()))% decrypts, \(recordBytes)-byte records)")
        print(String(format: "cache ages: soft %g s, hard %g s\(seedDecryption ? ", decryption seeded" : ""); %.0f ops/s simulated; %.1f simulated s = %.1f hard ages; %.1f wall s (%.0f ops/s real)",
                     softAge, hardAge, opsPerSecond, mix.whole.simulatedSeconds, mix.whole.simulatedSeconds / hardAge, mix.wallSeconds,
                     mix.operationsPerWallSecond))
        print("")
        print("WINDOW                 OPS         KMS CALLS  PER 1000  x CRYPTOR(2.1)  HIT RATIO  HITS        STALE     MISSES   REFRESHES  EVICTIONS")
        func row(_ name: String, _ w: CacheBenchmark.Window) {
            print(name.padding(toLength: 21, withPad: " ", startingAt: 0)
                + String(format: "  %-10d  %-9d  %-8.3f  %-13.3f  %-9.6f  %-10d  %-8d  %-7d  %-9d  %d", w.operations, w.kmsCalls,
                         w.kmsCallsPerThousand, w.kmsCallsPerThousand / Self.cryptorCallsPerThousand, w.hitRatio, w.cache.hits,
                         w.cache.staleServes, w.cache.misses, w.cache.refreshes, w.cache.evictions))
        }
        row("whole run", mix.whole)
        if let steady = mix.steady { row("after first hard age", steady) }
        print("target: <= \(Self.cryptorCallsPerThousand) KMS calls per 1,000 operations (Cryptor); aim <= \(Self.aimCallsPerThousand)")
        if let projection = projection(report) {
            print(String(format: "after the first hard age: %.2f KMS calls per tenant per soft age; at a 240 s soft age and this rate that is about %.2f per 1,000 (estimate, x%.2f of Cryptor's)",
                         projection.perTenantPerSoftAge, projection.atProductAges, projection.atProductAges / Self.cryptorCallsPerThousand))
        }
        if let hang = report.hang {
            print("")
            print("encrypt latency, second region hanging (wrap timeout \(wrapTimeoutMs) ms, \(hangTenants) tenants):")
            print(String(format: "  within soft age      p50 %.3f ms  p99 %.3f ms  max %.3f ms", hang.fresh.p50, hang.fresh.p99, hang.fresh.max))
            print(String(format: "  past soft age        p50 %.3f ms  p99 %.3f ms  max %.3f ms", hang.hanging.p50, hang.hanging.p99, hang.hanging.max))
            print(String(format: "  p99 ratio %.2f (target: about 1, a refresh must not show); refreshes started %d (at most %d at once), deferred %d, stale serves %d, misses %d, refresh failures %d",
                         hang.p99Ratio, hang.refreshesStarted, maxRefreshes, hang.refreshesDeferred, hang.staleServes, hang.misses, hang.refreshFailures))
        }
    }

    private static func round(_ value: Double, places: Double = 3) -> Double {
        let scale = Foundation.pow(10, places)
        return (value * scale).rounded() / scale
    }
}

extension CacheBenchmark.KMS: ExpressibleByArgument {}
