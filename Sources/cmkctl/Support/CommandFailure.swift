import ArgumentParser
import CMKEnvelope
import CMKJSON
import CMKKMS
import CMKPostgres
import CMKServer
import CMKTenant
import CMKWorkflow
import Foundation

/// Every exit code cmkctl uses, in one table: part of the CLI's contract, so scripts can branch on them.
/// Small numbers are the tenant lifecycle's outcomes, 10-16 a key's verdict (the probe's, and any KMS
/// refusal), 64 and up sysexits(3). No number means two things.
enum CLIExit: Int32, CaseIterable {
    case ok = 0
    /// The customer must act: the enrollment waits for them, or a key policy has blocking findings.
    case awaitingCustomer = 2
    /// The enrollment failed (a new ticket may try again).
    case enrollmentFailed = 3
    /// The request conflicts with the current state: another ticket holds the tenant, a tag would change,
    /// an execution is not parked or already finished, a backup or restore the key lifecycle refuses.
    case conflict = 4
    /// The audit chain does not verify.
    case auditBroken = 5
    /// Bad arguments, including malformed JSON, key ARNs and store URLs (ArgumentParser uses it too).
    case usage = 64
    /// Input data is invalid: a message that cannot be decrypted, a policy or workflow definition that
    /// does not parse or is outside what cmkctl accepts, a backup file that does not match its digest.
    case dataError = 65
    /// An input file does not exist or cannot be read.
    case noInput = 66
    /// No such tenant, execution or backup.
    case unknown = 67
    /// A keyring failed without a KMS verdict (no keyring could produce or unwrap a data key).
    case unavailable = 69
    /// An error cmkctl did not expect: a bug to report.
    case internalError = 70
    /// The output could not be written (or exists and may not be replaced).
    case cannotCreate = 73
    /// The store, or a data source a command reads or writes, could not be opened, read or written.
    case storeFailure = 74
    /// Not finished: another live process holds the work, or it waits for a retry a worker will run.
    case stillRunning = 75
    /// The tenant is suspended or offboarded: its lifecycle refuses encrypt and decrypt.
    case suspended = 77
    /// cmkctl's own setup is wrong (operator configuration, AWS credentials, the local KMS file, an
    /// endpoint, a workflow that is not loaded) or a configured policy refused the operation.
    case configuration = 78
}

/// A failure the CLI reports as one line on stderr and an exit code.
struct CommandFailure: Error {
    let status: CLIExit
    let message: String
}

/// The one place errors become exit codes and the one line every failing command prints.
enum ErrorPresenter {
    /// The exit code and message for an error a command let through; nil for ArgumentParser's own
    /// errors (usage, help, `ExitCode`), which it prints itself.
    static func present(_ error: any Error) -> (code: Int32, message: String)? {
        switch error {
        case let failure as CommandFailure:
            return (failure.status.rawValue, failure.message)
        case let error as EnvelopeError:
            return (status(error.code).rawValue, error.message)
        case let error as KMSError:
            // A KMS refusal carries the key's verdict (10-16, the probe's codes); our own setup is 78.
            let code = error.code == .invalidKeyARN ? CLIExit.usage.rawValue : ProbeVerdict(error.code).exitCode
            return (code, error.code == .invalidKeyARN ? error.message : "KMS \(error.code): \(error.message)")
        case let error as TenantError:
            return (status(error.code).rawValue, error.message)
        case let error as WorkflowError:
            return (status(error.code).rawValue, error.message)
        case let error as JSONError:
            return (CLIExit.dataError.rawValue, "not valid JSON: \(error.message)")
        case let error as ServerError:
            // The sidecar's own setup: the token file, a listen address.
            return (CLIExit.configuration.rawValue, error.message)
        case let error as PostgresStoreError:
            return ((error.code == .invalidLocation ? CLIExit.usage : .storeFailure).rawValue, error.message)
        case _ where String(reflecting: type(of: error)).hasPrefix("ArgumentParser."):
            return nil
        default:
            return (code(forUnexpected: error).rawValue, ErrorSentence.describing(error))
        }
    }

    static func status(_ code: EnvelopeError.Code) -> CLIExit {
        switch code {
        case .noDataKey, .keyringFailure: .unavailable
        case .policyViolation: .configuration
        case .invalidArgument, .unsupported, .misuse: .usage
        default: .dataError
        }
    }

    static func status(_ code: TenantError.Code) -> CLIExit {
        switch code {
        case .invalidInput, .unauthorized: .usage
        case .malformedPolicy, .decryptFailed: .dataError
        case .tenantSuspended: .suspended
        case .conflict, .illegalTransition, .backupRefused, .restoreRefused: .conflict
        case .unknownTenant, .backupUnknown: .unknown
        case .backupDamaged: .dataError
        case .auditChainBroken: .auditBroken
        case .configuration: .configuration
        case .storeFailure, .dataSourceFailure: .storeFailure
        default: .internalError
        }
    }

    static func status(_ code: WorkflowError.Code) -> CLIExit {
        switch code {
        case .invalidDefinition: .dataError
        case .invalidJSON: .usage
        case .executionNotFound: .unknown
        case .executionConflict: .conflict
        case .workflowNotLoaded: .configuration
        case .storeFailure: .storeFailure
        case .leaseLost: .stillRunning
        default: .internalError
        }
    }

    /// A file that cannot be read (66) or written (73), JSON that does not decode (65), else 70.
    static func code(forUnexpected error: any Error) -> CLIExit {
        if error is DecodingError { return .dataError }
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain else { return .internalError }
        switch bridged.code {
        case CocoaError.fileNoSuchFile.rawValue, 256...511: return .noInput
        case 512...767: return .cannotCreate
        case CocoaError.propertyListReadCorrupt.rawValue: return .dataError
        default: return .internalError
        }
    }
}

/// The one line on stderr every failing command prints; text from outside in the message (an ARN,
/// a KMS error) cannot break it into several lines or steer the terminal.
func writeErrorLine(_ message: String) {
    FileHandle.standardError.write(Data("cmkctl: error: \(message.escapingControlCharacters)\n".utf8))
}
