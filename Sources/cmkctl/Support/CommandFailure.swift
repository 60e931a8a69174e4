import ArgumentParser
import CMKEnvelope
import CMKKMS
import CMKTenant
import Foundation

/// Exit codes of cmkctl, from sysexits(3) so scripts can tell failures apart.
enum ExitStatus: Int32 {
    case ok = 0
    /// Bad arguments (ArgumentParser's own validation errors use the same code).
    case usage = 64
    /// The input could not be decrypted: malformed, tampered, wrong key or context.
    case dataError = 65
    /// An input file does not exist or cannot be read.
    case noInput = 66
    /// A key service or keyring failed.
    case unavailable = 69
    /// The output could not be written.
    case cannotCreate = 73
    /// A configured policy refused the operation (commitment policy, limits), or cmkctl's own KMS
    /// setup is wrong (credentials, the local KMS file, an endpoint).
    case configuration = 78
}

/// A failure the CLI reports as one line on stderr and an exit status.
struct CommandFailure: Error {
    let status: ExitStatus
    let message: String
}

/// Runs a command body, turning every error into one clear line on stderr and a meaningful exit code.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CommandFailure {
        exitWith(error.status, error.message)
    } catch let error as EnvelopeError {
        let status: ExitStatus = switch error.code {
        case .authenticationFailed: .dataError
        case .noDataKey, .keyringFailure: .unavailable
        case .policyViolation: .configuration
        case .invalidArgument, .unsupported, .misuse: .usage
        default: .dataError
        }
        exitWith(status, error.message)
    } catch let error as KMSError {
        // A malformed key ARN is bad input; a KMS refusal (denied, disabled, not found) or outage: the key
        // service failed; our own KMS setup (credentials, the local KMS file, an endpoint) is a
        // configuration error.
        let status: ExitStatus = switch error.code {
        case .invalidKeyARN: .usage
        case .invalidCiphertext: .dataError
        case .misconfigured: .configuration
        default: .unavailable
        }
        exitWith(status, error.code == .invalidKeyARN ? error.message : "KMS \(error.code): \(error.message)")
    } catch let error as TenantError {
        writeErrorLine(error.message)
        exit(TenantExit(error.code).rawValue)
    } catch let error as ValidationError {
        throw error
    } catch let error as ExitCode {
        throw error
    } catch {
        writeErrorLine(ErrorSentence.describing(error))
        exit(ExitStatus.code(forUnexpected: error, otherwise: ExitStatus.unavailable.rawValue))
    }
}

extension ExitStatus {
    /// The exit code for an error no command mapped: a file that cannot be read (66) or written
    /// (73), JSON that does not decode (65), else `otherwise`.
    static func code(forUnexpected error: any Error, otherwise: Int32) -> Int32 {
        if error is DecodingError { return ExitStatus.dataError.rawValue }
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain else { return otherwise }
        switch bridged.code {
        case CocoaError.fileNoSuchFile.rawValue, 256...511: return ExitStatus.noInput.rawValue
        case 512...767: return ExitStatus.cannotCreate.rawValue
        case CocoaError.propertyListReadCorrupt.rawValue: return ExitStatus.dataError.rawValue
        default: return otherwise
        }
    }
}

private func exitWith(_ status: ExitStatus, _ message: String) -> Never {
    writeErrorLine(message)
    exit(status.rawValue)
}

/// The one line on stderr every failing command prints; text from outside in the message (an ARN,
/// a KMS error) cannot break it into several lines or steer the terminal.
func writeErrorLine(_ message: String) {
    FileHandle.standardError.write(Data("cmkctl: error: \(message.escapingControlCharacters)\n".utf8))
}
