import CMKKMS
import Testing

/// Every error class from both answer shapes: JSON `__type` and a 403 XML body.
@Suite struct KMSErrorClassifierTests {
    let classifier = KMSErrorClassifier()

    @Test(arguments: [
        ("AccessDeniedException", 400, KMSError.Code.denied),
        ("com.amazonaws.kms#AccessDeniedException", 400, .denied),
        ("UnrecognizedClientException", 400, .denied),
        ("DisabledException", 400, .disabled),
        ("KMSInvalidStateException", 400, .disabled),
        ("NotFoundException", 400, .notFound),
        ("InvalidCiphertextException", 400, .invalidCiphertext),
        ("IncorrectKeyException", 400, .invalidCiphertext),
        ("ThrottlingException", 400, .throttled),
        ("KMSInternalException", 500, .unreachable),
        ("DependencyTimeoutException", 503, .unreachable),
        ("ValidationException", 400, .invalidRequest),
        ("SomethingNew", 503, .unreachable),
    ])
    func jsonType(type: String, status: Int, expected: KMSError.Code) {
        let body = Array(#"{"__type": "\#(type)", "message": "details"}"#.utf8)
        let error = classifier.classify(status: status, body: body)
        #expect(error.code == expected)
        #expect(error.message == "details")
    }

    @Test(arguments: [
        ("AccessDenied", KMSError.Code.denied),
        ("SignatureDoesNotMatch", .denied),
        ("InvalidClientTokenId", .denied),
        ("Throttling", .throttled),
    ])
    func xmlBody(code: String, expected: KMSError.Code) {
        let body = Array("""
        <?xml version="1.0" encoding="UTF-8"?>
        <ErrorResponse><Error><Type>Sender</Type><Code>\(code)</Code><Message>User: x is not authorized</Message></Error><RequestId>1</RequestId></ErrorResponse>
        """.utf8)
        let error = classifier.classify(status: 403, body: body)
        #expect(error.code == expected)
        #expect(error.message == "User: x is not authorized")
    }

    @Test(arguments: [(403, KMSError.Code.denied), (404, .notFound), (429, .throttled), (500, .unreachable), (502, .unreachable), (400, .invalidRequest)])
    func statusOnly(status: Int, expected: KMSError.Code) {
        #expect(classifier.classify(status: status, body: Array("<html>gateway</html>".utf8)).code == expected)
    }

    @Test func retrySchedule() {
        let schedule = RetrySchedule(maxAttempts: 3, baseDelay: .milliseconds(100), maxDelay: .milliseconds(250))
        let throttled = KMSError(.throttled, "slow down")
        #expect(schedule.delay(afterAttempt: 1, error: throttled, httpStatus: 400, unit: 1) == .milliseconds(100))
        #expect(schedule.delay(afterAttempt: 2, error: throttled, httpStatus: 400, unit: 0.5) == .milliseconds(100))
        #expect(schedule.delay(afterAttempt: 3, error: throttled, httpStatus: 400, unit: 0.5) == nil)
        #expect(schedule.delay(afterAttempt: 2, error: KMSError(.unreachable, "x"), httpStatus: 503, unit: 1) == .milliseconds(200))
        // A connect failure or timeout is not retried here (hedging moves on instead), nor any 4xx.
        #expect(schedule.delay(afterAttempt: 1, error: KMSError(.unreachable, "x"), httpStatus: nil, unit: 1) == nil)
        for code in [KMSError.Code.denied, .disabled, .notFound, .invalidCiphertext, .invalidRequest] {
            #expect(schedule.delay(afterAttempt: 1, error: KMSError(code, "x"), httpStatus: 400, unit: 1) == nil)
        }
    }
}
