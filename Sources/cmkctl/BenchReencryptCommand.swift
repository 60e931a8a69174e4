import ArgumentParser
import CMKBenchmarks
import Foundation

/// `cmkctl bench reencrypt [--items N] [--json]`: the re-encryption sweep's items/s in each mode
/// against batched 100-row UPDATEs of the same SQLite table, on the local KMS.
struct BenchReencryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reencrypt",
        abstract: "Re-encryption sweep items/s (rewrap and full re-encryption) vs raw batched UPDATEs of the same SQLite table.",
        discussion: """
            Writes --items items of --item-bytes plaintext bytes for one tenant under the provider key (cached \
            materials, as applications write them through cmkctl) into tables of a SQLite file in --directory, \
            switches the tenant to a new key generation, and sweeps one table per mode, --batch rows a page, on \
            the local KMS. The raw rate is UPDATEs of the same size, --batch rows per transaction. Then \
            --own-key-items items that each have a data key of their own (as the AWS Encryption SDK for Python \
            writes them) are rewrapped. Prints items/s, KMS calls per item and the ratios (target >= 0.3 for \
            the better mode). Build with -c release.
            """)

    @Option(help: "Items to write and move per mode.")
    var items = 100_000

    @Option(help: "Plaintext bytes per item.")
    var itemBytes = 1024

    @Option(help: "Rows per page of the sweep, and per transaction of the raw UPDATEs.")
    var batch = 100

    @Option(help: "Items with a data key of their own.")
    var ownKeyItems = 10_000

    @Option(help: "Directory for the benchmark's files (removed afterwards). Default: .cmkctl/bench-<random>.")
    var directory: String?

    @OptionGroup var output: OutputOptions

    func validate() throws {
        try OptionRange("--items", 1...10_000_000, "items").check(items)
        try OptionRange("--item-bytes", 1...(1 << 20), "bytes").check(itemBytes)
        try OptionRange("--batch", 1...10_000, "rows").check(batch)
        try OptionRange("--own-key-items", 0...1_000_000, "items").check(ownKeyItems)
    }

    func run() async throws {
        let path = directory ?? ".cmkctl/bench-\(UUID().uuidString.prefix(8))"
        let url = URL(fileURLWithPath: path)
        defer { if directory == nil { try? FileManager.default.removeItem(at: url) } }
        let report = try await ReencryptionBenchmark(directory: url, items: items, itemBytes: itemBytes, batchRows: batch,
                                                     ownKeyItems: ownKeyItems).run()
        if output.json {
            try printJSON(report)
            return
        }
        print(String(format: "items               %d of %d bytes, %d rows a page, SQLite, local KMS", report.items, report.itemBytes, report.batchRows))
        print(String(format: "rewrap              %.0f items/s, %.4f KMS calls/item", report.rewrapItemsPerSecond, report.rewrapKMSCallsPerItem))
        print(String(format: "full re-encryption  %.0f items/s, %.4f KMS calls/item", report.reencryptItemsPerSecond, report.reencryptKMSCallsPerItem))
        print(String(format: "raw UPDATEs         %.0f rows/s", report.rawUpdatesPerSecond))
        print(String(format: "ratios              rewrap %.2f, full re-encryption %.2f (target >= 0.30 for the better)", report.rewrapRatio, report.reencryptRatio))
        print(String(format: "own data keys       %d items rewrapped at %.0f items/s, %.2f KMS calls/item", report.ownKeyItems,
                     report.ownKeyRewrapItemsPerSecond, report.ownKeyKMSCallsPerItem))
    }
}
