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
    static let wantedKills = 24

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
        // makes a page last about 0.4 s, so the sweep outlives the kills.
        _ = try scratch.write(".cmkctl/operator.json", Array("""
            {"dataSources": [\(sourceJSON)"table": "documents", "idColumn": "id", "tenantColumn": "tenant_id", "columns": ["body"]}],
             "reencryption": {"mode": "rewrap", "batchSize": \(Self.batchSize), "kmsCallsPerSecond": 250, "pauseSeconds": 30}}
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
        case .postgres: try await PostgresStore.open(try PostgresLocation(url: environment["CMKCTL_STORE"]!), maximumConnections: 2)
        }
        defer { Task { [store, application] in await store.close(); await application.close() } }

        let seed = UInt64.random(in: 1...UInt64.max)
        print("re-encryption torture (\(backend)): seed \(seed)")
        let outcome = try await Self.torture(store, configuration: configuration, application: application, seed: seed,
                                             enroll: { arguments in try cmkctl(arguments) },
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

        // The last run, not killed: it joins the open re-encryption (waiting out the last dead lease) and completes it.
        let last = try cmkctl(["reencrypt", "--tenant", "acme", "--lease-seconds", "1", "--workflows", Self.workflows, "--json"])
        #expect(last.status == 0, "\(last.stderr)")
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

        // The ledger's own full scan agrees with what the completion recorded: every item under generation 1.
        let ledger = try cmkctl(["ledger", "--tenant", "acme", "--verify", "--json"])
        #expect(ledger.status == 0, "\(ledger.stdoutText) \(ledger.stderr)")
        let ledgerRows = (try json(ledger)["rows"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? "?") g\($0["generation"] ?? "?")=\($0["items"] ?? "?")" }
        #expect(ledgerRows == ["app g1=\(rows.count)"])

        let seconds = Double((ContinuousClock.now - started).components.seconds)
        print("""
            re-encryption torture (\(backend)): seed \(seed), \(outcome.kills.count) kills in \(outcome.rounds) runs, \(seconds) s; \
            the application wrote \(outcome.inserts) new and \(outcome.updates) updated items (generations \(outcome.writerGenerations.sorted { $0.key < $1.key })); \
            \(rows.count) items, sweep moved \(progress["rewrapped"] ?? "?") rewrapped + \(progress["reencrypted"] ?? "?") re-encrypted, \
            \(progress["lostRaces"] ?? "?") lost races, \(progress["passes"] ?? "?") passes
            """)
        for kill in outcome.kills { print("  kill \(kill)") }
        #expect(outcome.kills.count >= 20, "the sweep finished before it was killed 20 times: \(outcome.kills)")
    }

    /// Every item of the table as the application reads it back: its generation and plaintext.
    static func readBack<Store: StoreBackend>(_ store: Store, configuration: OperatorConfiguration, application: any ApplicationTable)
        async throws -> [Int64: (generation: Int, plaintext: String)] {
        let crypto = try TenantCrypto(repository: store.repository, operatorConfiguration: configuration, kms: kms(configuration))
        var items: [Int64: (generation: Int, plaintext: String)] = [:]
        for (id, ciphertext) in try await application.all() {
            let opened = try await crypto.decrypt(tenant: "acme", ciphertext: ciphertext)
            items[id] = (opened.generation, String(decoding: opened.plaintext, as: UTF8.self))
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
    }

    /// KMS as `cmkctl` reaches it from the scratch directory: the local file only.
    static func kms(_ configuration: OperatorConfiguration) -> TenantKMS {
        let path = configuration.localKMSPath
        return TenantKMS(local: { try LocalKMS(path: path) }, aws: { throw KMSError(.unreachable, "no AWS KMS in this test") })
    }

    /// The items on the provider key, the detached enrollment, the writer, and the kill loop.
    static func torture<Store: StoreBackend>(
        _ store: Store, configuration: OperatorConfiguration, application: any ApplicationTable, seed: UInt64,
        enroll: ([String]) throws -> CLIRunner.Result, spawn: ([String]) throws -> Process, key: String
    ) async throws -> Outcome {
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
        for id in 1...Int64(initialItems) {
            let text = "item \(id) v0"
            let sealed = try await (id % 10 == 0 ? signed : plain).encrypt(tenant: "acme", plaintext: Array(text.utf8))
            #expect(sealed.generation == 0)
            rows.append((id, sealed.ciphertext))
            outcome.latest[id] = text
        }
        try await application.insert(rows)

        let enrollArguments = ["enroll", "--ticket", "SUP-1", "--tenant", "acme", "--key", key, "--tag", "acmeprod", "--detach",
                               "--workflows", workflows]
        let journaled = try enroll(enrollArguments)
        #expect(journaled.status == 0, "\(journaled.stderr)")

        // The application, writing all along with the library and its own connection.
        let control = WriterControl()
        let writerCrypto = try TenantCrypto(repository: repository, operatorConfiguration: configuration, kms: kms)
        let writing = Task {
            try await applicationWrites(crypto: writerCrypto, table: application, existing: Array(1...Int64(initialItems)), seed: seed &+ 1,
                                        control: control)
        }

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
            let afterProgress = outcome.rounds % 2 == 1
            if afterProgress {
                let limit = ContinuousClock.now + .seconds(15)
                while process.isRunning, ContinuousClock.now < limit, try await position(store).progress == before.progress {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            let delay = Int.random(in: afterProgress ? 0...400 : 50...1_500, using: &random)
            try await Task.sleep(for: .milliseconds(delay))
            let running = process.isRunning
            if running { kill(process.processIdentifier, SIGKILL) }
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
        await control.stop()
        let written = try await writing.value
        outcome.latest.merge(written.latest) { $1 }
        outcome.inserts = written.inserts
        outcome.updates = written.updates
        outcome.writerGenerations = written.generations
        return outcome
    }

    /// Where the work is, read from the store: the re-encryption's record when there is one, else the enrollment's step.
    struct Position {
        var phase: String
        var progress: String
        var reencrypting: Bool
        var completed: Bool
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
            reencrypting: true, completed: record.status == .completed)
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
/// connection, about every 10 ms, until told to stop.
func applicationWrites<Repository: TenantRepository>(
    crypto: TenantCrypto<Repository>, table: any ApplicationTable, existing: [Int64], seed: UInt64, control: WriterControl
) async throws -> Written {
    var written = Written()
    var ids = existing
    var random = SplitMix64(seed: seed)
    var next: Int64 = 1_000_000
    var versions: [Int64: Int] = [:]
    while await !control.stopped {
        let insert = Int.random(in: 0..<10, using: &random) < 4
        let id = insert ? next : ids[Int.random(in: 0..<ids.count, using: &random)]
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
