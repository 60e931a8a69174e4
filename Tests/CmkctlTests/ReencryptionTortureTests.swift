import CMKEnvelope
import CMKKMS
import CMKPostgres
import CMKSQLite
import CMKTenant
import CMKTesting
import Foundation
import GRDB
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12's torture: a tenant's re-encryption run by real `cmkctl worker` processes that are
/// SIGKILLed at random moments and restarted, while the application keeps inserting and updating
/// items in the same table through `TenantCrypto`. A last run completes it, and nothing may be lost,
/// duplicated, left behind or half-written.
@Suite struct ReencryptionTortureTests {
    static let workflows = CLIRunner.packageRoot.appendingPathComponent("Workflows").path
    static let initialItems = 2_000
    static let batchSize = 50
    /// Kills before the verifying pass; three more follow in it.
    static let wantedKills = 21

    /// One SIGKILL, and where the dead process left the work.
    struct Kill: CustomStringConvertible {
        let round: Int
        let afterMilliseconds: Int
        let waitedForProgress: Bool
        let phase: String

        var description: String { "#\(round) +\(afterMilliseconds)ms\(waitedForProgress ? " after progress" : ""): \(phase)" }
    }

    @Test(arguments: TestBackend.allCases)
    func reencryptionKilledAtRandomMomentsLosesNoWrite(backend: TestBackend) async throws {
        let started = ContinuousClock.now
        let scratch = try Scratch()
        var environment = ProcessInfo.processInfo.environment
        let application: any ApplicationTable
        let sourceJSON: String
        switch backend {
        case .sqlite:
            let path = scratch.path("app.sqlite")
            application = try SQLiteApplicationTable(path: path)
            sourceJSON = #"{"name": "app", "kind": "sqlite", "path": "\#(path)", "#
        case .postgres:
            let server = try PostgresServer.shared(packageRoot: CLIRunner.packageRoot.path)
            environment["CMKCTL_STORE"] = try server.freshDatabase("torture")
            let url = try server.freshDatabase("app")
            application = try await PostgresApplicationTable.open(url: url)
            sourceJSON = #"{"name": "app", "kind": "postgres", "url": "\#(url)", "#
        }
        try FileManager.default.createDirectory(at: scratch.url.appendingPathComponent(".cmkctl"), withIntermediateDirectories: true)
        // Every page of 50 rewraps about 100 KMS calls (each item has a data key of its own); the rate
        // makes a page last about 0.2 s, so the sweep outlives the kills.
        _ = try scratch.write(".cmkctl/operator.json", Array("""
            {"dataSources": [\(sourceJSON)"table": "documents", "idColumn": "id", "tenantColumn": "tenant_id", "columns": ["body"]}],
             "reencryption": {"mode": "rewrap", "batchSize": \(Self.batchSize), "kmsCallsPerSecond": 500, "pauseSeconds": 30}}
            """.utf8))
        func cmkctl(_ arguments: [String]) throws -> CLIRunner.Result {
            try CLIRunner.run(arguments, in: scratch.url, environment: environment)
        }
        func json(_ result: CLIRunner.Result) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any], "\(result.stderr)")
        }
        #expect(try cmkctl(["kms", "create-key", "--alias", "cmkctl-provider", "--description", "provider"]).status == 0)
        let key = try #require(try json(try cmkctl(["kms", "create-key", "--alias", "acme-root", "--description", "acme", "--json"]))["arn"] as? String)
        let added = try cmkctl(["tenants", "add", "--tenant", "acme", "--tag", "acmeprod"])
        #expect(added.status == 0, "\(added.stderr)")

        var configuration = try OperatorConfiguration.load(path: scratch.path(".cmkctl/operator.json"))
        configuration.localKMSPath = scratch.path(".cmkctl/local-kms.json")
        let store: any StoreBackend = switch backend {
        case .sqlite: try SQLiteStore(path: scratch.path(".cmkctl/store.sqlite"))
        case .postgres: try await PostgresStore.open(try PostgresLocation(url: environment["CMKCTL_STORE"]!), maximumConnections: 8)
        }
        defer { Task { [store, application] in await store.close(); await application.close() } }

        let seed = UInt64.random(in: 1...UInt64.max)
        print("re-encryption torture (\(backend)): seed \(seed)")
        let outcome = try await Self.torture(store, configuration: configuration, application: application, seed: seed,
                                             cmkctl: { arguments in try cmkctl(arguments) },
                                             spawn: { arguments in
                                                 let process = Process()
                                                 process.executableURL = URL(fileURLWithPath: CLIRunner.binary)
                                                 process.arguments = arguments
                                                 process.currentDirectoryURL = scratch.url
                                                 process.environment = environment
                                                 process.standardOutput = FileHandle.nullDevice
                                                 process.standardError = FileHandle.nullDevice
                                                 try process.run()
                                                 return process
                                             }, key: key)

        #expect(outcome.last?.status == 0, "\(outcome.last?.stderr ?? "")")
        let status = try #require((try JSONSerialization.jsonObject(with: try cmkctl(["status", "--tenant", "acme", "--json"]).stdout)
                as? [[String: Any]])?.first)
        #expect(status["state"] as? String == "active")
        #expect(status["generation"] as? Int == 1)
        let record = try #require(status["reencryption"] as? [String: Any])
        #expect(record["status"] as? String == "completed")
        #expect(record["target"] as? Int == 1)
        let progress = record["progress"] as? [String: Any] ?? [:]

        // Every item of the table, read by the application: exactly the ids it wrote, each under
        // generation 1 and opening to the last plaintext it wrote there.
        let rows = try await Self.readBack(store, configuration: configuration, application: application)
        let missing = Set(outcome.latest.keys).subtracting(rows.keys).sorted(), stray = Set(rows.keys).subtracting(outcome.latest.keys).sorted()
        #expect(missing.isEmpty && stray.isEmpty, "ids missing: \(missing.prefix(10)), ids never written: \(stray.prefix(10))")
        let behind = rows.filter { $0.value.generation != 1 }.keys.sorted()
        let wrong = rows.filter { $0.value.plaintext != outcome.latest[$0.key] }.keys.sorted()
        #expect(behind.isEmpty, "\(behind.count) item(s) not under generation 1: \(behind.prefix(10))")
        #expect(wrong.isEmpty, "\(wrong.count) item(s) lost their last write: \(wrong.prefix(10))")

        // The ledger's own full scan: every item under generation 1. (It may correct the count the
        // verifying pass recorded, exit 1: the application went on inserting after that pass.)
        let ledger = try cmkctl(["ledger", "--tenant", "acme", "--verify", "--json"])
        #expect(ledger.status == 0 || ledger.status == 1, "\(ledger.stdoutText) \(ledger.stderr)")
        let ledgerRows = (try json(ledger)["rows"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? "?") g\($0["generation"] ?? "?")=\($0["items"] ?? "?")" }
        #expect(ledgerRows == ["app g1=\(rows.count)"])

        let seconds = Self.seconds(ContinuousClock.now - started)
        print("""
            re-encryption torture (\(backend)): seed \(seed), \(outcome.kills.count) kills in \(outcome.rounds) runs, \(seconds) s \
            (items written \(outcome.setupSeconds) s, kills \(outcome.killSeconds) s, last run \(outcome.lastSeconds) s); \
            the application wrote \(outcome.inserts) new and \(outcome.updates) updated items (generations \(outcome.writerGenerations.sorted { $0.key < $1.key })); \
            \(rows.count) items, sweep moved \(progress["rewrapped"] ?? "?") rewrapped + \(progress["reencrypted"] ?? "?") re-encrypted, \
            \(progress["lostRaces"] ?? "?") lost races, \(progress["passes"] ?? "?") passes, counted \(progress["total"] ?? "?") behind at the start
            """)
        for kill in outcome.kills { print("  kill \(kill)") }
        #expect(outcome.kills.count >= 20, "the sweep finished before it was killed 20 times: \(outcome.kills)")
        #expect(outcome.kills.contains { $0.phase.contains("pass 2") }, "no kill in the verifying pass")
    }

    /// Every item of the table as the application reads it back: its generation and plaintext.
    static func readBack<Store: StoreBackend>(_ store: Store, configuration: OperatorConfiguration, application: any ApplicationTable)
        async throws -> [Int64: (generation: Int, plaintext: String)] {
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: configuration, kms: kms(configuration))
        var items: [Int64: (generation: Int, plaintext: String)] = [:]
        let stored = Array(try await application.all())
        // Eight at a time, as the items were written.
        for chunk in stride(from: 0, to: stored.count, by: 8) {
            try await withThrowingTaskGroup(of: (Int64, TenantPlaintext).self) { group in
                for (id, ciphertext) in stored[chunk..<min(chunk + 8, stored.count)] {
                    group.addTask { (id, try await crypto.decrypt(tenant: "acme", ciphertext: ciphertext)) }
                }
                for try await (id, opened) in group {
                    items[id] = (opened.generation, String(decoding: opened.plaintext, as: UTF8.self))
                }
            }
        }
        return items
    }

    struct Outcome {
        var kills: [Kill] = []
        var rounds = 0
        var latest: [Int64: String] = [:]
        var inserts = 0
        var updates = 0
        var writerGenerations: [Int: Int] = [:]
        var last: CLIRunner.Result?
        var setupSeconds = 0.0
        var killSeconds = 0.0
        var lastSeconds = 0.0
    }

    /// KMS as `cmkctl` reaches it from the scratch directory: the local file only.
    static func kms(_ configuration: OperatorConfiguration) -> TenantKMS {
        let path = configuration.localKMSPath
        return TenantKMS(local: { try LocalKMS(path: path) }, aws: { throw KMSError(.unreachable, "no AWS KMS in this test") })
    }

    /// The items on the provider key, the detached enrollment, the writer, and the kill loop.
    static func torture<Store: StoreBackend>(
        _ store: Store, configuration: OperatorConfiguration, application: any ApplicationTable, seed: UInt64,
        cmkctl: ([String]) throws -> CLIRunner.Result, spawn: ([String]) throws -> Process, key: String
    ) async throws -> Outcome {
        let setupStarted = ContinuousClock.now
        let repository = store.repository
        let kms = kms(configuration)
        var outcome = Outcome()
        // Generation 0: a data key per item, so that moving each costs KMS calls the rate paces; every
        // tenth item signed (re-encrypted in full, never rewrapped).
        let oneKeyEach = TenantCryptoConfiguration(cacheLimits: MaterialsCache.Limits(softMessages: 1, maxMessages: 1))
        let plain = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms, configuration: oneKeyEach)
        var signedConfiguration = oneKeyEach
        signedConfiguration.envelope = EnvelopeConfiguration(suite: .aes256GCMHKDFSHA512CommitKeyECDSAP384)
        let signed = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms, configuration: signedConfiguration)
        var rows: [(Int64, [UInt8])] = []
        // Eight at a time: each call reads the tenant from the store.
        for chunk in stride(from: Int64(1), through: Int64(initialItems), by: 8) {
            try await withThrowingTaskGroup(of: (Int64, TenantCiphertext).self) { group in
                for id in chunk..<min(chunk + 8, Int64(initialItems) + 1) {
                    group.addTask { (id, try await (id % 10 == 0 ? signed : plain).encrypt(tenant: "acme", plaintext: Array("item \(id) v0".utf8))) }
                }
                for try await (id, sealed) in group {
                    #expect(sealed.generation == 0)
                    rows.append((id, sealed.ciphertext))
                    outcome.latest[id] = "item \(id) v0"
                }
            }
        }
        try await application.insert(rows.sorted { $0.0 < $1.0 })

        let enrollArguments = ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod", "--detach",
                               "--workflows", workflows]
        let journaled = try cmkctl(enrollArguments)
        #expect(journaled.status == 0, "\(journaled.stderr)")

        // The application, writing all along with the library and its own connection.
        let control = WriterControl()
        let writerCrypto = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms)
        // Half its rewrites go just ahead of the sweep's cursor, where they race its compare-and-swaps.
        let hotSpot: @Sendable () async -> Int64? = {
            guard let record = try? await repository.read({ try await repository.reencryptions(tenant: "acme", in: $0) }).first(where: { $0.target == 1 }),
                  record.progress.scanned < initialItems else { return nil }
            return Int64(record.progress.scanned)
        }
        let writing = Task {
            try await applicationWrites(crypto: writerCrypto, table: application, existing: Array(1...Int64(initialItems)), seed: seed &+ 1,
                                        control: control, hotSpot: hotSpot)
        }
        // Whatever fails below, no worker outlives the test and the writer stops.
        var live: Process?
        defer {
            if let live, live.isRunning, live.processIdentifier > 0 {
                kill(live.processIdentifier, SIGKILL)
                live.waitUntilExit()
            }
            Task { await control.stop() }
        }
        let killing = ContinuousClock.now
        outcome.setupSeconds = seconds(killing - setupStarted)

        // Kill at random moments: odd rounds once the run has moved something, even rounds from the
        // start (startup, the lease wait, enrollment steps). The store says where each death left the work.
        var random = SplitMix64(seed: seed)
        let worker = ["worker", "--lease-seconds", "1", "--workflows", workflows]
        let deadline = ContinuousClock.now + .seconds(120)
        var reencrypting = false
        while (outcome.kills.count < wantedKills || !reencrypting) && outcome.rounds < 200 && ContinuousClock.now < deadline {
            let before = try await position(store)
            if before.completed { break }
            let process = try spawn(worker)
            live = process
            let afterProgress = outcome.rounds % 2 == 1
            if afterProgress {
                let limit = ContinuousClock.now + .seconds(15)
                while process.isRunning, ContinuousClock.now < limit, try await position(store).progress == before.progress {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            // The first runs die sooner, in the enrollment's steps more often than not.
            let delay = Int.random(in: afterProgress ? 0...400 : (outcome.rounds < 4 ? 50...400 : 50...1_000), using: &random)
            try await Task.sleep(for: .milliseconds(delay))
            let running = process.isRunning
            if running { try sigkill(process) }
            process.waitUntilExit()
            outcome.rounds += 1
            let after = try await position(store)
            reencrypting = after.reencrypting
            if running && !before.completed {
                outcome.kills.append(Kill(round: outcome.rounds, afterMilliseconds: delay, waitedForProgress: afterProgress, phase: after.phase))
            } else if !running {
                Issue.record("the worker exited by itself (status \(process.terminationStatus)) at \(after.phase)")
            }
        }
        // Then kills in the verifying pass: each run is let through to pass 2 (and past its last page
        // there) before it dies.
        for _ in 0..<3 {
            let before = try await position(store)
            if before.completed { break }
            let process = try spawn(worker)
            live = process
            let limit = ContinuousClock.now + .seconds(30)
            while process.isRunning, ContinuousClock.now < limit {
                let now = try await position(store)
                if now.completed || (now.passes >= 1 && (before.passes == 0 || now.progress != before.progress)) { break }
                try await Task.sleep(for: .milliseconds(5))
            }
            let delay = Int.random(in: 0...60, using: &random)
            try await Task.sleep(for: .milliseconds(delay))
            let running = process.isRunning
            if running { try sigkill(process) }
            process.waitUntilExit()
            outcome.rounds += 1
            let after = try await position(store)
            if running && !before.completed {
                outcome.kills.append(Kill(round: outcome.rounds, afterMilliseconds: delay, waitedForProgress: true, phase: after.phase))
            }
        }
        outcome.killSeconds = seconds(ContinuousClock.now - killing)

        // The last run, not killed, while the application still writes: it joins the open
        // re-encryption (waiting out the last dead lease) and completes it.
        let lastStarted = ContinuousClock.now
        outcome.last = try cmkctl(["reencrypt", "--tenant", "acme", "--lease-seconds", "1", "--workflows", workflows, "--json"])
        outcome.lastSeconds = seconds(ContinuousClock.now - lastStarted)
        await control.stop()
        let written = try await writing.value
        outcome.latest.merge(written.latest) { $1 }
        outcome.inserts = written.inserts
        outcome.updates = written.updates
        outcome.writerGenerations = written.generations
        return outcome
    }

    /// SIGKILL to the worker alone (never to a pid of 0 or less, which would reach the test's own group).
    static func sigkill(_ process: Process) throws {
        let pid = process.processIdentifier
        try #require(pid > 0)
        kill(pid, SIGKILL)
    }

    static func seconds(_ duration: Duration) -> Double {
        ((Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) * 10).rounded() / 10
    }

    /// Where the work is, read from the store: the re-encryption's record when there is one, else the enrollment's step.
    struct Position {
        var phase: String
        var progress: String
        var reencrypting: Bool
        var completed: Bool
        var passes = 0
    }

    static func position<Store: StoreBackend>(_ store: Store) async throws -> Position {
        let repository = store.repository
        let tenant = try await repository.tenant("acme")
        let state = tenant?.state.rawValue ?? "?"
        let records = try await repository.read { try await repository.reencryptions(tenant: "acme", in: $0) }
        guard let record = records.first(where: { $0.target == 1 }) else {
            let step = try await store.journal.execution(named: "enroll-acme-SUP-1")?.stateName ?? "-"
            return Position(phase: "\(state), enrollment at \(step)", progress: "enrollment \(step)", reencrypting: false, completed: false)
        }
        let progress = record.progress
        let step = try await store.journal.execution(named: record.execution)?.stateName ?? "-"
        let page = progress.scanned / batchSize
        return Position(
            phase: "\(state), re-encryption \(record.status.rawValue) at \(step), pass \(progress.passes + 1) page \(page), moved \(progress.moved), lost races \(progress.lostRaces)",
            progress: "\(progress.passes) \(progress.scanned) \(progress.moved) \(record.status.rawValue)",
            reencrypting: true, completed: record.status == .completed, passes: progress.passes)
    }
}

/// Tells the application's writer to stop between two writes (never in the middle of one, so every
/// write it made is in its map).
actor WriterControl {
    private(set) var stopped = false
    func stop() { stopped = true }
}

/// What the application wrote: the last plaintext of each id, and how.
struct Written: Sendable {
    var latest: [Int64: String] = [:]
    var inserts = 0
    var updates = 0
    var generations: [Int: Int] = [:]
}

/// The application: inserts new items and rewrites existing ones through `TenantCrypto` on its own
/// connection, about every 10 ms, until told to stop; `hotSpot` says where the sweep's cursor is.
func applicationWrites<Repository: TenantRepository>(
    crypto: TenantCrypto<Repository>, table: any ApplicationTable, existing: [Int64], seed: UInt64, control: WriterControl,
    hotSpot: @Sendable () async -> Int64?
) async throws -> Written {
    var written = Written()
    var ids = existing
    var random = SplitMix64(seed: seed)
    var next: Int64 = 1_000_000
    var versions: [Int64: Int] = [:]
    var cursor: Int64?
    while await !control.stopped {
        if (written.inserts + written.updates) % 10 == 0 { cursor = await hotSpot() }
        let insert = Int.random(in: 0..<10, using: &random) < 4
        var id = insert ? next : ids[Int.random(in: 0..<ids.count, using: &random)]
        if !insert, let cursor, Bool.random(using: &random) {
            id = min(cursor + Int64.random(in: 1...100, using: &random), Int64(existing.count))
        }
        let version = versions[id, default: 0] + 1
        versions[id] = version
        let text = "item \(id) v\(version)"
        let sealed = try await crypto.encrypt(tenant: "acme", plaintext: Array(text.utf8))
        if insert {
            try await table.insert([(id, sealed.ciphertext)])
            ids.append(id)
            next += 1
            written.inserts += 1
        } else {
            try await table.update(id, sealed.ciphertext)
            written.updates += 1
        }
        written.latest[id] = text
        written.generations[sealed.generation, default: 0] += 1
        try await Task.sleep(for: .milliseconds(10))
    }
    return written
}

/// The application's table, on a connection of the application's own (not cmkctl's).
protocol ApplicationTable: Sendable {
    func insert(_ rows: [(Int64, [UInt8])]) async throws
    /// Fails when the row is not there: the application only rewrites what it wrote.
    func update(_ id: Int64, _ body: [UInt8]) async throws
    func all() async throws -> [Int64: [UInt8]]
    func close() async
}

struct ApplicationTableError: Error, CustomStringConvertible {
    let description: String
}

final class SQLiteApplicationTable: ApplicationTable {
    let queue: DatabaseQueue

    init(path: String) throws {
        var options = Configuration()
        options.busyMode = .timeout(10)
        queue = try DatabaseQueue(path: path, configuration: options)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE documents (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, body BLOB)")
        }
    }

    func insert(_ rows: [(Int64, [UInt8])]) async throws {
        try await queue.write { db in
            for (id, body) in rows {
                try db.execute(sql: "INSERT INTO documents (id, tenant_id, body) VALUES (?, 'acme', ?)", arguments: [id, Data(body)])
            }
        }
    }

    func update(_ id: Int64, _ body: [UInt8]) async throws {
        let changed = try await queue.write { db in
            try db.execute(sql: "UPDATE documents SET body = ? WHERE id = ?", arguments: [Data(body), id])
            return db.changesCount
        }
        guard changed == 1 else { throw ApplicationTableError(description: "row \(id) was not there to update") }
    }

    func all() async throws -> [Int64: [UInt8]] {
        try await queue.read { db in
            var rows: [Int64: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, body FROM documents WHERE tenant_id = 'acme'") {
                rows[row["id"]] = Array(row["body"] as Data)
            }
            return rows
        }
    }

    func close() async {
        try? queue.close()
    }
}

final class PostgresApplicationTable: ApplicationTable {
    let connection: PostgresConnection

    private init(connection: PostgresConnection) {
        self.connection = connection
    }

    static func open(url: String) async throws -> PostgresApplicationTable {
        let location = try PostgresLocation(url: url)
        let options = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.user,
                                                       password: location.password, database: location.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: options, id: 1, logger: PostgresStore.defaultLogger)
        try await connection.query("CREATE TABLE documents (id BIGINT PRIMARY KEY, tenant_id TEXT NOT NULL, body BYTEA)",
                                   logger: PostgresStore.defaultLogger)
        return PostgresApplicationTable(connection: connection)
    }

    func insert(_ rows: [(Int64, [UInt8])]) async throws {
        for chunk in stride(from: 0, to: rows.count, by: 200) {
            var binds = PostgresBindings()
            var values: [String] = []
            for (offset, (id, body)) in rows[chunk..<min(chunk + 200, rows.count)].enumerated() {
                binds.append(id)
                binds.append(ByteBuffer(bytes: body))
                values.append("($\(offset * 2 + 1), 'acme', $\(offset * 2 + 2))")
            }
            try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO documents (id, tenant_id, body) VALUES " + values.joined(separator: ", "),
                                                     binds: binds), logger: PostgresStore.defaultLogger)
        }
    }

    func update(_ id: Int64, _ body: [UInt8]) async throws {
        var updated = 0
        for try await _ in try await connection.query("UPDATE documents SET body = \(ByteBuffer(bytes: body)) WHERE id = \(id) RETURNING 1",
                                                      logger: PostgresStore.defaultLogger) {
            updated += 1
        }
        guard updated == 1 else { throw ApplicationTableError(description: "row \(id) was not there to update") }
    }

    func all() async throws -> [Int64: [UInt8]] {
        var rows: [Int64: [UInt8]] = [:]
        for try await (id, body) in try await connection.query("SELECT id, body FROM documents WHERE tenant_id = 'acme'",
                                                                logger: PostgresStore.defaultLogger).decode((Int64, ByteBuffer).self) {
            rows[id] = Array(buffer: body)
        }
        return rows
    }

    func close() async {
        try? await connection.close()
    }
}

/// SplitMix64: a small seeded generator, so a run's kill moments and writes can be replayed from its printed seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
