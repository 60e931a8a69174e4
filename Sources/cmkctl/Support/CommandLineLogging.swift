import Foundation
import Logging

/// The log every command writes on stderr (swift-log), bootstrapped once before parsing.
///
/// The default level is `info`; `--verbose` (any command, anywhere before `--`) or
/// `CMKCTL_LOG_LEVEL=debug` turns on the debug log, which says, for example, why a message could not
/// be decrypted. Nothing logged carries key bytes, data keys or plaintext. stdout is left to the
/// commands' output (plaintext, messages, JSON), so logs never mix into it.
enum CommandLineLogging {
    static let verboseFlag = "--verbose"
    static let levelVariable = "CMKCTL_LOG_LEVEL"

    /// Removes `--verbose` from `arguments` (up to a `--` terminator) and says whether it was there.
    static func removeVerboseFlag(from arguments: inout [String]) -> Bool {
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        let before = arguments[..<end]
        guard before.contains(verboseFlag) else { return false }
        arguments = before.filter { $0 != verboseFlag } + arguments[end...]
        return true
    }

    /// The level from `--verbose` and `CMKCTL_LOG_LEVEL`; `--verbose` wins, since it was typed now.
    static func level(verbose: Bool, environment: [String: String]) throws -> Logger.Level {
        if verbose { return .debug }
        guard let text = environment[levelVariable], !text.isEmpty else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw CommandFailure(status: .usage, message: "\(levelVariable)=\(text): expected one of \(names)")
        }
        return level
    }

    /// Sends every logger to stderr at `level`.
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
