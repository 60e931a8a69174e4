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
    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--round-trips", 1...100_000, "round trips").check(roundTrips)
        try OptionRange("--decrypts", 1...100_000, "decrypts").check(decrypts)
        try OptionLimits.hedgeDelay.check(hedgeDelayMs)
    }

    func run() async throws {
        let executable = motoServer ?? MotoServer.locateExecutable(packageRoot: FileManager.default.currentDirectoryPath)
        let bench = KMSBenchmark(options: .init(motoExecutable: executable, roundTrips: roundTrips, decrypts: decrypts,
                                                hedgeDelay: .milliseconds(hedgeDelayMs)))
        let quiet = output.json
        let scenarios = try await bench.run { step in
            if !quiet { FileHandle.standardError.write(Data("bench: \(step)\n".utf8)) }
        }
        if output.json {
            KMSCommandSupport.printJSON([
                "hedgeDelayMs": .number(Double(hedgeDelayMs)),
                "scenarios": .array(scenarios.map { scenario in
                    ["name": .string(scenario.name), "failures": .number(Double(scenario.failures)), "latency": scenario.summary.json]
                }),
            ])
            return
        }
        let width = scenarios.map(\.name.count).max() ?? 0
        print("SCENARIO" + String(repeating: " ", count: width - 6) + "N     p50 ms     p99 ms  failures")
        for s in scenarios {
            let pad = String(repeating: " ", count: width - s.name.count + 2)
            print("\(s.name)\(pad)\(String(s.summary.count).padding(toLength: 4, withPad: " ", startingAt: 0))  \(String(format: "%9.3f", s.summary.p50))  \(String(format: "%9.3f", s.summary.p99))  \(s.failures)")
        }
    }
}
