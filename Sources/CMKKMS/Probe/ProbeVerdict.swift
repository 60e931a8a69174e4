/// The outcome of probing a key, as operators and scripts read it; each has its own exit code.
public enum ProbeVerdict: String, Sendable, CaseIterable, Comparable {
    case ok
    case denied
    case disabled
    case notFound = "not-found"
    /// The key answers but is not one cmkctl can use: not SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT.
    case unsuitableKey = "unsuitable-key"
    case keyUnavailable = "key-unavailable"
    case throttled
    case unreachable
    /// Our own setup is wrong (credentials, the local KMS file, the endpoint), not the key.
    case misconfigured

    /// Stable exit codes for scripts: 0 only for ok; 78 (EX_CONFIG) when the operator must fix
    /// cmkctl's own setup, so it is never mistaken for the customer's key.
    public var exitCode: Int32 {
        switch self {
        case .ok: 0
        case .denied: 10
        case .disabled: 11
        case .notFound: 12
        case .unsuitableKey: 13
        case .throttled: 14
        case .unreachable: 15
        case .keyUnavailable: 16
        case .misconfigured: 78
        }
    }

    /// Which verdict a failed call gives: its code where the code has a verdict of its own, else its
    /// failure class.
    public init(_ code: KMSError.Code) {
        switch code {
        case .denied: self = .denied
        case .disabled: self = .disabled
        case .notFound: self = .notFound
        case .keyUnavailable: self = .keyUnavailable
        case .throttled: self = .throttled
        case .unreachable: self = .unreachable
        default:
            switch code.failureClass {
            case .revocation: self = .denied
            case .transient: self = .unreachable
            case .misconfiguration: self = .misconfigured
            }
        }
    }

    /// Who has to act; `nil` for ok. A key that is not usable the way cmkctl needs is the
    /// customer's to change, like a revocation.
    public var failureClass: KMSError.FailureClass? {
        switch self {
        case .ok: nil
        case .denied, .disabled, .notFound, .unsuitableKey: .revocation
        case .keyUnavailable, .throttled, .unreachable: .transient
        case .misconfigured: .misconfiguration
        }
    }

    /// Severity for the overall verdict of several keys: our own misconfiguration outranks everything
    /// (no other verdict can be trusted while it lasts), then a revocation (denied, disabled, not
    /// found, an unsuitable key), then a transient failure.
    private var severity: Int {
        switch self {
        case .ok: 0
        case .unreachable: 1
        case .keyUnavailable: 2
        case .throttled: 3
        case .unsuitableKey: 4
        case .notFound: 5
        case .disabled: 6
        case .denied: 7
        case .misconfigured: 8
        }
    }

    public static func < (lhs: ProbeVerdict, rhs: ProbeVerdict) -> Bool { lhs.severity < rhs.severity }
}
