// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "cmkctl",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cmkctl", targets: ["cmkctl"]),
        .library(name: "CMKJSON", targets: ["CMKJSON"]),
        .library(name: "CMKEnvelope", targets: ["CMKEnvelope"]),
        .library(name: "CMKKMS", targets: ["CMKKMS"]),
        .library(name: "CMKWorkflow", targets: ["CMKWorkflow"]),
        .library(name: "CMKTenant", targets: ["CMKTenant"]),
        .library(name: "CMKSQLite", targets: ["CMKSQLite"]),
        .library(name: "CMKPostgres", targets: ["CMKPostgres"]),
        .library(name: "CMKServer", targets: ["CMKServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
    ],
    targets: [
        // The one JSON value type, its strict reader and its writers; depends on nothing, so the
        // envelope, KMS and workflow layers share it without depending on each other.
        .target(name: "CMKJSON"),
        // AWS Encryption SDK message format, keyrings, streaming. Knows nothing of AWS services.
        // The system libcrypto's EVP AES-GCM, for sealing frames in place (libssl-dev).
        .target(name: "COpenSSLCrypto"),
        .target(
            name: "CMKEnvelope",
            dependencies: [
                "CMKJSON",
                "COpenSSLCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // KMS clients (AWS over SigV4, local file-backed), KMS keyring, multi-region key sets, probe.
        .target(
            name: "CMKKMS",
            dependencies: [
                "CMKJSON",
                "CMKEnvelope",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Generic durable state machines (Amazon States Language subset) over an async journal protocol.
        .target(
            name: "CMKWorkflow",
            dependencies: [
                "CMKJSON",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The domain: tenants, key generations, enrollment, key-policy analysis, audit trail.
        .target(
            name: "CMKTenant",
            dependencies: [
                "CMKJSON",
                "CMKEnvelope",
                "CMKKMS",
                "CMKWorkflow",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The embedded backend: the journal, the tenant repository and their migrations on SQLite (GRDB).
        .target(
            name: "CMKSQLite",
            dependencies: [
                "CMKWorkflow",
                "CMKTenant",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The scale-out backend: the same journal and tenant repository on PostgreSQL (PostgresNIO).
        .target(
            name: "CMKPostgres",
            dependencies: [
                "CMKWorkflow",
                "CMKTenant",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `cmkctl serve`: the sidecar API over TenantCrypto, auth, problem+json errors, metrics, health, the
        // OpenAPI document, one ServiceGroup. Generic over the store: no database library here.
        .target(
            name: "CMKServer",
            dependencies: [
                "CMKJSON",
                "CMKEnvelope",
                "CMKKMS",
                "CMKTenant",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The peers the tests and the benchmarks start: moto and IAM launchers, the silent listener, child
        // processes with a clean signal mask and no inherited descriptors. No test-only code: `cmkctl bench`
        // links it, and CMKTesting re-exports it for the tests.
        .target(
            name: "CMKPeers",
            dependencies: [
                "CMKKMS",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // Test kit, used only by tests: the peers (re-exported), a throwaway PostgreSQL server, the backends a
        // conformance test runs on, network namespaces, a manual clock, the runner of built executables. Not a
        // product, and not linked into cmkctl.
        .target(
            name: "CMKTesting",
            dependencies: [
                "CMKPeers",
                "CMKKMS",
                "CMKWorkflow",
                "CMKTenant",
                "CMKSQLite",
                "CMKPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        // Test kit: the example workflow's handlers on either backend, and the launcher of the test worker.
        // A target of its own beside CMKTesting: the product carries no example handler.
        .target(
            name: "CMKExampleHandlers",
            dependencies: [
                "CMKWorkflow",
                "CMKTenant",
                "CMKSQLite",
                "CMKPostgres",
                "CMKTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // A worker process with the example and the enrollment handlers, started and SIGKILLed by the crash
        // tests. Built with the tests, never shipped: not a product.
        .executableTarget(
            name: "cmkctl-testworker",
            dependencies: [
                "CMKExampleHandlers",
                "CMKTenant",
                "CMKWorkflow",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmarks behind `cmkctl bench kms` and `bench workflow`, out of the libraries.
        .target(
            name: "CMKBenchmarks",
            dependencies: [
                "CMKEnvelope",
                "CMKKMS",
                "CMKWorkflow",
                "CMKTenant",
                "CMKSQLite",
                "CMKPostgres",
                "CMKPeers",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "cmkctl",
            dependencies: [
                "CMKJSON",
                "CMKEnvelope",
                "CMKKMS",
                "CMKWorkflow",
                "CMKTenant",
                "CMKSQLite",
                "CMKPostgres",
                "CMKBenchmarks",
                "CMKServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .testTarget(name: "CMKJSONTests", dependencies: ["CMKJSON"]),
        .testTarget(name: "CMKEnvelopeTests", dependencies: ["CMKEnvelope", "CMKTesting"]),
        .testTarget(
            name: "CMKKMSTests",
            dependencies: ["CMKKMS", "CMKEnvelope", "CMKTesting", "CMKBenchmarks", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "CMKWorkflowTests",
            dependencies: [
                "CMKWorkflow", "CMKSQLite", "CMKPostgres", "CMKTenant", "CMKTesting", "CMKExampleHandlers",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "CMKTenantTests",
            dependencies: [
                "CMKTenant", "CMKKMS", "CMKWorkflow", "CMKEnvelope", "CMKSQLite", "CMKPostgres", "CMKTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Drives the built `cmkctl` binary and the Python peers (interop, golden output); CMKTesting for the
        // PostgreSQL server and the network namespaces of the scale-out test; CMKPostgres and PostgresNIO for
        // the re-encryption torture's application, which writes its own table beside the sweep.
        .testTarget(name: "CmkctlTests", dependencies: ["CMKEnvelope", "CMKTenant", "CMKSQLite", "CMKPostgres", "CMKTesting",
                                                    .product(name: "GRDB", package: "GRDB.swift"),
                                                    .product(name: "PostgresNIO", package: "postgres-nio")]),
        // The sidecar in-process (HummingbirdTesting over a real SQLite store and the local KMS), the OpenAPI
        // document against the routes, and one live `cmkctl serve` process.
        .testTarget(
            name: "CMKServerTests",
            dependencies: [
                "CMKServer", "CMKTenant", "CMKKMS", "CMKEnvelope", "CMKJSON", "CMKSQLite", "CMKTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
