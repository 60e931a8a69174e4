/// The outcome of probing a key, as operators and scripts read it; each has its own exit code.
public enum ProbeVerdict: String, Sendable, CaseIterable, Comparable {
    case ok
    case denied
    case disabled
    case notFound = "not-found"
    case misconfigured
    case throttled
    case unreachable

    /// Stable exit codes for scripts: 0 only for ok.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .denied: 10
        case .disabled: 11
        case .notFound: 12
        case .misconfigured: 13
        case .throttled: 14
        case .unreachable: 15
        }
    }

    /// Which verdict a failed call gives; a bad ciphertext or request means the setup is wrong.
    public init(_ code: KMSError.Code) {
        switch code {
        case .denied: self = .denied
        case .disabled: self = .disabled
        case .notFound: self = .notFound
        case .throttled: self = .throttled
        case .unreachable: self = .unreachable
        default: self = .misconfigured
        }
    }

    /// Severity for the overall verdict of several keys: a revocation (denied, disabled, not found)
    /// outranks a setup problem, which outranks a transient one.
    private var severity: Int {
        switch self {
        case .ok: 0
        case .unreachable: 1
        case .throttled: 2
        case .misconfigured: 3
        case .notFound: 4
        case .disabled: 5
        case .denied: 6
        }
    }

    public static func < (lhs: ProbeVerdict, rhs: ProbeVerdict) -> Bool { lhs.severity < rhs.severity }
}
