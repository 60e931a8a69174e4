import ArgumentParser
import CMKBenchmarks
import CMKKMS
import CMKPeers
import Foundation

/// `cmkctl bench kms`: KMS latency against moto, and the cost of a dead or hanging region.
struct BenchKMSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kms", abstract: "KMS round-trip latency and multi-region decrypt with a dead or hanging region.")

    @Option(name: .customLong("moto-server"), help: "Path of moto_server (default: next to $CMK_PEER_PYTHON, else ./.venv/bin).")
    var motoServer: String?
    @Option(name: .customLong("round-trips"), help: "GenerateDataKey + Decrypt round trips.") var roundTrips: Int = 200
    @Option(help: "Decrypts per multi-region scenario.") var decrypts: Int = 20
    @Option(name: .customLong("hedge-delay-ms"), help: "Hedge delay in milliseconds.") var hedgeDelayMs: Int = 100
    @Option(help: "Python with boto3 that measures the same round trips against the same moto (default: $CMK_PEER_PYTHON, else ./.venv/bin/python).")
    var python: String?
    @Flag(name: .customLong("no-boto3"), help: "Skip the boto3 comparison.") var noBoto3 = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--round-trips", 1...100_000, "round trips").check(roundTrips)
        try OptionRange("--decrypts", 1...100_000, "decrypts").check(decrypts)
        try OptionLimits.hedgeDelay.check(hedgeDelayMs)
    }

    func run() async throws {
        let executable = motoServer ?? MotoServer.locateExecutable(packageRoot: FileManager.default.currentDirectoryPath)
        let peer = noBoto3 ? nil : (python ?? Boto3KMSPeer.locatePython(packageRoot: FileManager.default.currentDirectoryPath))
        let bench = KMSBenchmark(options: .init(motoExecutable: executable, roundTrips: roundTrips, decrypts: decrypts,
                                                hedgeDelay: .milliseconds(hedgeDelayMs), python: peer))
        let quiet = output.json
        let report = try await bench.run { step in
            if !quiet { FileHandle.standardError.write(Data("bench: \(step)\n".utf8)) }
        }
        let scenarios = report.scenarios
        if output.json {
            var object: JSONObject = [
                "hedgeDelayMs": .number(Double(hedgeDelayMs)),
                "scenarios": .array(scenarios.map { scenario in
                    ["name": .string(scenario.name), "failures": .number(Double(scenario.failures)), "latency": scenario.summary.json]
                }),
            ]
            if let comparison = report.comparison {
                object["boto3"] = [
                    "generateDataKeyP50Ratio": .number(Self.rounded(comparison.generateDataKeyRatio)),
                    "generateDataKeyP99Ratio": .number(Self.rounded(comparison.generateDataKeyP99Ratio)),
                    "decryptP50Ratio": .number(Self.rounded(comparison.decryptRatio)),
                    "decryptP99Ratio": .number(Self.rounded(comparison.decryptP99Ratio)),
                    "target": .number(1.2),
                ]
            }
            KMSCommandSupport.printJSON(.object(object))
            return
        }
        let width = scenarios.map(\.name.count).max() ?? 0
        print("SCENARIO" + String(repeating: " ", count: width - 6) + "N     p50 ms     p99 ms  failures")
        for s in scenarios {
            let pad = String(repeating: " ", count: width - s.name.count + 2)
            print("\(s.name)\(pad)\(String(s.summary.count).padding(toLength: 4, withPad: " ", startingAt: 0))  \(String(format: "%9.3f", s.summary.p50))  \(String(format: "%9.3f", s.summary.p99))  \(s.failures)")
        }
        if let c = report.comparison {
            print("")
            print("ours / boto3 (same moto, key and context; target <= 1.2):")
            print(String(format: "  GenerateDataKey  p50 %.2f  p99 %.2f", c.generateDataKeyRatio, c.generateDataKeyP99Ratio))
            print(String(format: "  Decrypt          p50 %.2f  p99 %.2f", c.decryptRatio, c.decryptP99Ratio))
        }
    }

    private static func rounded(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
