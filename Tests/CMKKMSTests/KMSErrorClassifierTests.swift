import CMKKMS
import Testing

/// The one KMS failure classification: every service error name, status and (where it matters)
/// message maps to a code, and every code to exactly one failure class. Pure, no I/O.
@Suite struct KMSErrorClassifierTests {
    let classifier = KMSErrorClassifier()

    /// One row of the classification table (docs/kms.md mirrors it).
    struct Row: Sendable, CustomTestStringConvertible {
        let type: String
        let status: Int
        let message: String
        let code: KMSError.Code
        let failureClass: KMSError.FailureClass

        init(_ type: String, _ status: Int, _ message: String, _ code: KMSError.Code, _ failureClass: KMSError.FailureClass) {
            self.type = type
            self.status = status
            self.message = message
            self.code = code
            self.failureClass = failureClass
        }

        init(_ type: String, _ status: Int, _ code: KMSError.Code, _ failureClass: KMSError.FailureClass) {
            self.init(type, status, "details", code, failureClass)
        }

        var testDescription: String { "\(type) \(status) \"\(message)\"" }
    }

    static let table: [Row] = [
        // The customer's key policy, a grant or a resource control policy: revocation.
        Row("AccessDeniedException", 400, "User: arn:aws:iam::111122223333:role/svc is not authorized to perform: kms:Decrypt on resource: "
            + "arn:aws:kms:us-east-1:999988887777:key/k because no resource-based policy allows the kms:Decrypt action", .denied, .revocation),
        Row("AccessDeniedException", 400, "... with an explicit deny in a resource control policy", .denied, .revocation),
        Row("com.amazonaws.kms#AccessDeniedException", 400, .denied, .revocation),
        Row("AccessDenied", 403, "User: x is not authorized", .denied, .revocation),
        // Our own account refused us (IAM identity policy, boundary, session policy, SCP): misconfiguration.
        Row("AccessDeniedException", 400, "User: arn:aws:iam::111122223333:role/svc is not authorized to perform: kms:Decrypt on resource: "
            + "arn:aws:kms:us-east-1:999988887777:key/k because no identity-based policy allows the kms:Decrypt action", .misconfigured, .misconfiguration),
        Row("AccessDeniedException", 400, "... with an explicit deny in an identity-based policy", .misconfigured, .misconfiguration),
        Row("AccessDeniedException", 400, "... with an explicit deny in a service control policy", .misconfigured, .misconfiguration),
        Row("AccessDeniedException", 400, "... because no permissions boundary allows the kms:Decrypt action", .misconfigured, .misconfiguration),
        Row("AccessDeniedException", 400, "... because no session policy allows the kms:Decrypt action", .misconfigured, .misconfiguration),
        // Our credentials, whatever key the call named: misconfiguration.
        Row("UnrecognizedClientException", 400, "The security token included in the request is invalid.", .misconfigured, .misconfiguration),
        Row("InvalidClientTokenId", 403, .misconfigured, .misconfiguration),
        Row("SignatureDoesNotMatch", 403, .misconfigured, .misconfiguration),
        Row("InvalidSignatureException", 400, "Signature expired", .misconfigured, .misconfiguration),
        Row("IncompleteSignature", 400, .misconfigured, .misconfiguration),
        Row("IncompleteSignatureException", 400, .misconfigured, .misconfiguration),
        Row("MissingAuthenticationToken", 403, .misconfigured, .misconfiguration),
        Row("MissingAuthenticationTokenException", 403, .misconfigured, .misconfiguration),
        Row("ExpiredToken", 400, .misconfigured, .misconfiguration),
        Row("ExpiredTokenException", 400, .misconfigured, .misconfiguration),
        Row("RequestExpired", 400, .misconfigured, .misconfiguration),
        // The key's state, as the owner set it: revocation; while it is made or changed: transient.
        Row("DisabledException", 400, "arn:aws:kms:us-east-1:1:key/k is disabled.", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is pending deletion.", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is PendingDeletion", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is pending import.", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is pending replica deletion.", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is disabled.", .disabled, .revocation),
        Row("KMSInvalidStateException", 400, "Key 'arn:aws:kms:us-east-1:1:key/k' does not exist", .notFound, .revocation),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is updating.", .keyUnavailable, .transient),
        Row("KMSInvalidStateException", 400, "arn:aws:kms:us-east-1:1:key/k is Creating", .keyUnavailable, .transient),
        Row("KMSInvalidStateException", 400, "details", .keyUnavailable, .transient),
        Row("KeyUnavailableException", 500, .keyUnavailable, .transient),
        Row("NotFoundException", 400, .notFound, .revocation),
        Row("NotFound", 404, .notFound, .revocation),
        // The ciphertext or the request we sent: misconfiguration.
        Row("InvalidCiphertextException", 400, .invalidCiphertext, .misconfiguration),
        Row("IncorrectKeyException", 400, .invalidCiphertext, .misconfiguration),
        Row("ValidationException", 400, .invalidRequest, .misconfiguration),
        // Throttling and outages: transient.
        Row("ThrottlingException", 400, .throttled, .transient),
        Row("Throttling", 400, .throttled, .transient),
        Row("KMSInternalException", 500, .unreachable, .transient),
        Row("DependencyTimeoutException", 503, .unreachable, .transient),
        // Unknown names fall back to the status, which never says revocation.
        Row("SomethingNew", 503, .unreachable, .transient),
        Row("SomethingNew", 429, .throttled, .transient),
        Row("SomethingNew", 403, .misconfigured, .misconfiguration),
        Row("SomethingNew", 404, .misconfigured, .misconfiguration),
        Row("SomethingNew", 400, .invalidRequest, .misconfiguration),
    ]

    @Test(arguments: table)
    func jsonType(row: Row) {
        let body = Array(#"{"__type": "\#(row.type)", "message": "\#(row.message)"}"#.utf8)
        let error = classifier.classify(status: row.status, body: body)
        #expect(error.code == row.code)
        #expect(error.failureClass == row.failureClass)
        #expect(error.message == row.message)
        #expect(error.serviceErrorType == row.type)
    }

    @Test(arguments: table)
    func xmlBody(row: Row) {
        let body = Array("""
        <?xml version="1.0" encoding="UTF-8"?>
        <ErrorResponse><Error><Type>Sender</Type><Code>\(row.type)</Code><Message>\(row.message)</Message></Error><RequestId>1</RequestId></ErrorResponse>
        """.utf8)
        let error = classifier.classify(status: row.status, body: body)
        #expect(error.code == row.code)
        #expect(error.message == row.message)
    }

    /// Without a KMS error name there is no evidence of a revocation: a gateway page or another
    /// server behind a wrong endpoint is our setup.
    @Test(arguments: [
        (401, KMSError.Code.misconfigured), (403, .misconfigured), (404, .misconfigured), (400, .invalidRequest),
        (429, .throttled), (500, .unreachable), (502, .unreachable),
    ])
    func statusOnly(status: Int, expected: KMSError.Code) {
        let error = classifier.classify(status: status, body: Array("<html>gateway</html>".utf8))
        #expect(error.code == expected)
        #expect(error.failureClass != .revocation)
        if expected == .misconfigured { #expect(error.message.contains("is the endpoint a KMS endpoint?")) }
    }

    @Test func everyCodeHasOneClassAndAKebabCaseName() {
        let classes = Dictionary(uniqueKeysWithValues: KMSError.Code.allCases.map { ($0.name, $0.failureClass) })
        #expect(classes == [
            "denied": .revocation, "disabled": .revocation, "not-found": .revocation,
            "key-unavailable": .transient, "throttled": .transient, "unreachable": .transient,
            "misconfigured": .misconfiguration, "invalid-ciphertext": .misconfiguration, "invalid-request": .misconfiguration,
            "invalid-key-arn": .misconfiguration,
        ])
        for code in KMSError.Code.allCases {
            #expect(code.name.allSatisfy { $0.isLowercase || $0 == "-" }, "\(code.name)")
        }
    }

    static let keyStateCodes: [(KeyMetadata.State, KMSError.Code?)] = [
        (.enabled, nil), (.disabled, .disabled), (.pendingDeletion, .disabled), (.pendingImport, .disabled),
        (.creating, .keyUnavailable), (.updating, .keyUnavailable), (.unavailable, .keyUnavailable),
    ]

    @Test(arguments: keyStateCodes)
    func keyStates(state: KeyMetadata.State, expected: KMSError.Code?) {
        #expect(KMSErrorClassifier.code(forKeyState: state) == expected)
    }

    /// The probe's verdicts read the same classes; a misconfiguration exits 78 (EX_CONFIG).
    @Test func probeVerdictsFollowTheClasses() {
        for code in KMSError.Code.allCases {
            #expect(ProbeVerdict(code).failureClass == code.failureClass, "\(code)")
        }
        #expect(ProbeVerdict(.misconfigured).exitCode == 78)
        #expect(ProbeVerdict(.invalidRequest) == .misconfigured)
        #expect(ProbeVerdict.unsuitableKey.failureClass == .revocation)
        // While our own setup is broken no other verdict can be trusted, so it wins the overall verdict.
        #expect([ProbeVerdict.denied, .misconfigured, .unreachable].max() == .misconfigured)
    }

    @Test func retryScheduleReadsTheClass() {
        let schedule = RetrySchedule(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .milliseconds(250))
        let throttled = KMSError(.throttled, "slow down")
        #expect(schedule.delay(afterAttempt: 1, error: throttled, httpStatus: 400, unit: 1) == .milliseconds(100))
        #expect(schedule.delay(afterAttempt: 2, error: throttled, httpStatus: 400, unit: 0.5) == .milliseconds(100))
        #expect(schedule.delay(afterAttempt: 3, error: throttled, httpStatus: 400, unit: 0.5) == nil)
        #expect(schedule.delay(afterAttempt: 2, error: KMSError(.unreachable, "x"), httpStatus: 503, unit: 1) == .milliseconds(200))
        #expect(schedule.delay(afterAttempt: 1, error: KMSError(.keyUnavailable, "updating"), httpStatus: 400, unit: 1) == .milliseconds(100))
        // A connect failure or timeout is not retried here (hedging moves on instead), nor a
        // revocation or misconfiguration, which fail the same way every time.
        #expect(schedule.delay(afterAttempt: 1, error: KMSError(.unreachable, "x"), httpStatus: nil, unit: 1) == nil)
        for code in KMSError.Code.allCases where code.failureClass != .transient {
            #expect(schedule.delay(afterAttempt: 1, error: KMSError(code, "x"), httpStatus: 400, unit: 1) == nil)
        }
    }
}
