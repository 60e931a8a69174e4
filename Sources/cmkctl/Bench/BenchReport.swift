import CMKJSON
import CMKKMS
import CMKPeers
import Foundation

/// Collects benchmark figures and prints them as a table or as one JSON object whose keys name them.
struct BenchReport {
    struct Figure {
        let name: String
        let value: Double
        let unit: String
        let ratio: Double?
        let ratioName: String?
        let note: String?
    }

    let title: String
    private(set) var figures: [Figure] = []

    init(title: String) { self.title = title }

    mutating func add(_ name: String, _ value: Double, unit: String, ratioTo limit: Double? = nil, ratioName: String? = nil, note: String? = nil) {
        let ratio = limit.flatMap { $0 > 0 ? value / $0 : nil }
        figures.append(Figure(name: name, value: value, unit: unit, ratio: ratio, ratioName: ratioName, note: note))
    }

    func print(json: Bool) {
        if json {
            var object: JSONObject = [:]
            for figure in figures {
                object[figure.name] = .number((figure.value * 100).rounded() / 100)
                if let ratio = figure.ratio {
                    let name = figure.name.replacingOccurrences(of: "_mib_s", with: "").replacingOccurrences(of: "_ops_s", with: "") + "_ratio"
                    object[name] = .number((ratio * 1000).rounded() / 1000)
                }
            }
            Swift.print(JSONValue.object(object).prettyText)
            return
        }
        Swift.print(title)
        let width = figures.map(\.name.count).max() ?? 0
        for figure in figures {
            var line = figure.name.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                + String(format: "%12.1f %-6@", figure.value, figure.unit as NSString)
            if let ratio = figure.ratio, let ratioName = figure.ratioName {
                line += ratioName.hasPrefix("x") ? String(format: "  %8.1f %@", ratio, ratioName as NSString)
                                                 : String(format: "  %7.1f%% %@", ratio * 100, ratioName as NSString)
            }
            if let note = figure.note { line += "  (\(note))" }
            Swift.print(line)
        }
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

/// Runs `openssl speed` for the CPU's limits on this machine.
enum OpenSSLSpeed {
    /// MiB/s for one block size, from `openssl speed -evp aes-256-gcm -bytes N`.
    static func measureAES256GCM(blockSize: Int, seconds: Int) throws -> Double {
        try measure(evp: "aes-256-gcm", blockSize: blockSize, seconds: seconds)
    }

    /// MiB/s of SHA-384, the hash a 0578 message's signature covers, from `openssl speed -evp sha384`.
    static func measureSHA384(blockSize: Int, seconds: Int) throws -> Double {
        try measure(evp: "sha384", blockSize: blockSize, seconds: seconds)
    }

    private static func measure(evp algorithm: String, blockSize: Int, seconds: Int) throws -> Double {
        let output = try runTool("/usr/bin/openssl", ["speed", "-evp", algorithm, "-bytes", "\(blockSize)", "-seconds", "\(seconds)"])
        // The last line reads "AES-256-GCM   2161372.32k" (or "sha384  492552.19k"): thousands of bytes per second.
        guard let line = output.split(separator: "\n").last(where: { $0.uppercased().hasPrefix(algorithm.uppercased()) }),
              let field = line.split(separator: " ").last, field.hasSuffix("k"), let thousands = Double(field.dropLast()) else {
            throw CommandFailure(status: .unavailable, message: "could not read `openssl speed -evp \(algorithm)` output")
        }
        return thousands * 1000 / 1_048_576
    }
}

/// Runs the Python AWS Encryption SDK's 1 KiB round-trip benchmark (scripts/esdk-python-bench.py).
enum PythonSDKSpeed {
    static func roundTripsPerSecond(python: String, seconds: Double) throws -> Double {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("scripts/esdk-python-bench.py").path
        let path = FileManager.default.fileExists(atPath: script) ? script : "scripts/esdk-python-bench.py"
        let output = try runTool(python, [path, "--seconds", "\(seconds)"])
        let line = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) ?? ""
        guard let rate = (try? JSONValue(parsing: String(line)))?["roundtrips_per_second"]?.numberValue else {
            throw CommandFailure(status: .unavailable, message: "could not read the Python SDK benchmark's output")
        }
        return rate
    }
}

/// Runs a tool and returns what it printed (stdout and stderr together).
///
/// It goes through `ChildProcess` so the tool starts with an empty signal mask: `openssl speed`
/// times itself with SIGALRM, which a Swift process has blocked on its threads.
func runTool(_ executable: String, _ arguments: [String]) throws -> String {
    let path = executable.hasPrefix("/") ? executable : FileManager.default.currentDirectoryPath + "/" + executable
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("cmkctl-tool-\(UUID().uuidString).out").path
    defer { unlink(output) }
    let pid: pid_t
    do {
        pid = try ChildProcess.spawn(path, arguments: arguments, environment: ProcessInfo.processInfo.environment, outputPath: output)
    } catch {
        throw CommandFailure(status: .unavailable, message: "cannot run \(executable): \(error)")
    }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    guard status == 0 else {
        throw CommandFailure(status: .unavailable, message: "\(executable) \(arguments.first ?? "") failed (wait status \(status))")
    }
    return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
}
