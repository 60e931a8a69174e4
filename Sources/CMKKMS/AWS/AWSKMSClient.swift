import AsyncHTTPClient
import CMKEnvelope
import Crypto
import Foundation
import Logging

/// AWS KMS over its JSON 1.1 protocol, signed with Signature Version 4.
///
/// One instance serves every region: the region comes from the key ARN (or `defaultRegion` for bare
/// key ids and aliases), and each region may have its endpoint overridden (VPC endpoints, a local
/// KMS-compatible server). The HTTP client is shared and owned by the caller, so connections to a
/// region are pooled and reused across calls.
public struct AWSKMSClient: KMSClient {
    public struct Configuration: Sendable {
        public var defaultRegion: String
        /// Region → base URL (`http://127.0.0.1:5000`), overriding `https://kms.<region>.amazonaws.com`.
        public var endpoints: [String: String]
        /// Upper bound on one HTTP exchange (connect, send, wait for the full answer).
        public var requestTimeout: Duration
        public var retry: RetrySchedule

        public init(defaultRegion: String = "us-east-1", endpoints: [String: String] = [:],
                    requestTimeout: Duration = .seconds(10), retry: RetrySchedule = RetrySchedule()) {
            self.defaultRegion = defaultRegion
            self.endpoints = endpoints
            self.requestTimeout = requestTimeout
            self.retry = retry
        }
    }

    public let configuration: Configuration
    private let httpClient: HTTPClient
    private let credentials: AWSCredentials
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let sleep: @Sendable (Duration) async throws -> Void

    public init(httpClient: HTTPClient, credentials: AWSCredentials, configuration: Configuration = Configuration(),
                logger: Logger = Logger(label: "cmkctl.kms.aws"),
                now: @escaping @Sendable () -> Date = { Date() },
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.httpClient = httpClient
        self.credentials = credentials
        self.configuration = configuration
        self.logger = logger
        self.now = now
        self.sleep = sleep
    }

    /// An HTTP client suited to KMS: pooled connections, a short connect timeout so a dead region
    /// fails fast. The caller shuts it down.
    public static func makeHTTPClient(connectTimeout: Duration = .seconds(2)) -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .milliseconds(connectTimeout.milliseconds))
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
        // A refused connection must fail at once: the pool would otherwise keep retrying until the
        // request deadline, and a dead region would cost a full timeout instead of a failover.
        config.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    /// The region of a key ARN (alias ARNs included), or the default region for a bare key id or
    /// alias name; text that starts like an ARN but breaks the grammar is refused, never sent.
    public func region(forKeyID keyID: String) throws -> String {
        if KeyARN.looksLikeARN(keyID) { return try KeyARN(validating: keyID, allowAlias: true).region }
        return try KeyARN.validatedRegion(configuration.defaultRegion, what: "default region")
    }

    /// The configured endpoint of `region`, or its public one; either way only for a region that
    /// passes `KeyARN`'s grammar, so no text but a region name ever becomes part of a host name.
    public func endpoint(forRegion region: String) throws -> String {
        try KeyARN.validatedRegion(region)
        return configuration.endpoints[region] ?? KeyARN.publicEndpoint(ofRegion: region)
    }

    // MARK: operations

    public func generateDataKey(keyID: String, numberOfBytes: Int, context: EncryptionContext) async throws -> GeneratedDataKey {
        let answer = try await call("GenerateDataKey", region: try region(forKeyID: keyID), [
            "KeyId": .string(keyID),
            "NumberOfBytes": .number(Double(numberOfBytes)),
            "EncryptionContext": Self.json(context),
        ])
        return GeneratedDataKey(plaintext: try Self.key(answer, "Plaintext"),
                                ciphertextBlob: try Self.blob(answer, "CiphertextBlob"), keyARN: answer["KeyId"]?.stringValue ?? keyID)
    }

    public func encrypt(keyID: String, plaintext: SymmetricKey, context: EncryptionContext) async throws -> KMSCiphertext {
        let answer = try await call("Encrypt", region: try region(forKeyID: keyID), [
            "KeyId": .string(keyID),
            "Plaintext": .string(plaintext.withUnsafeBytes { Data($0).base64EncodedString() }),
            "EncryptionContext": Self.json(context),
        ])
        return KMSCiphertext(ciphertextBlob: try Self.blob(answer, "CiphertextBlob"), keyARN: answer["KeyId"]?.stringValue ?? keyID)
    }

    public func decrypt(ciphertext: [UInt8], context: EncryptionContext, keyID: String?) async throws -> KMSPlaintext {
        var body: JSONObject = [
            "CiphertextBlob": .string(Data(ciphertext).base64EncodedString()),
            "EncryptionContext": Self.json(context),
        ]
        if let keyID { body["KeyId"] = .string(keyID) }
        let answer = try await call("Decrypt", region: try keyID.map(region(forKeyID:)) ?? configuration.defaultRegion, body)
        return KMSPlaintext(plaintext: try Self.key(answer, "Plaintext"), keyARN: answer["KeyId"]?.stringValue ?? keyID ?? "")
    }

    public func reEncrypt(ciphertext: [UInt8], sourceContext: EncryptionContext, destinationKeyID: String, destinationContext: EncryptionContext) async throws -> KMSCiphertext {
        let answer = try await call("ReEncrypt", region: try region(forKeyID: destinationKeyID), [
            "CiphertextBlob": .string(Data(ciphertext).base64EncodedString()),
            "SourceEncryptionContext": Self.json(sourceContext),
            "DestinationKeyId": .string(destinationKeyID),
            "DestinationEncryptionContext": Self.json(destinationContext),
        ])
        return KMSCiphertext(ciphertextBlob: try Self.blob(answer, "CiphertextBlob"), keyARN: answer["KeyId"]?.stringValue ?? destinationKeyID)
    }

    public func describeKey(keyID: String) async throws -> KeyMetadata {
        let answer = try await call("DescribeKey", region: try region(forKeyID: keyID), ["KeyId": .string(keyID)])
        return try Self.metadata(answer)
    }

    public func getKeyPolicy(keyID: String) async throws -> String {
        let answer = try await call("GetKeyPolicy", region: try region(forKeyID: keyID), ["KeyId": .string(keyID), "PolicyName": "default"])
        return answer["Policy"]?.stringValue ?? ""
    }

    public func createKey(description: String, policy: String?) async throws -> KeyMetadata {
        try await createKey(description: description, policy: policy, region: configuration.defaultRegion)
    }

    /// CreateKey in a given region (the protocol's form uses the default region).
    public func createKey(description: String, policy: String?, region: String) async throws -> KeyMetadata {
        var body: JSONObject = [
            "Description": .string(description),
            "KeyUsage": "ENCRYPT_DECRYPT",
            "KeySpec": "SYMMETRIC_DEFAULT",
        ]
        if let policy { body["Policy"] = .string(policy) }
        return try Self.metadata(try await call("CreateKey", region: region, body))
    }

    public func putKeyPolicy(keyID: String, policy: String) async throws {
        _ = try await call("PutKeyPolicy", region: try region(forKeyID: keyID), ["KeyId": .string(keyID), "PolicyName": "default", "Policy": .string(policy)])
    }

    public func enableKey(keyID: String) async throws {
        _ = try await call("EnableKey", region: try region(forKeyID: keyID), ["KeyId": .string(keyID)])
    }

    public func disableKey(keyID: String) async throws {
        _ = try await call("DisableKey", region: try region(forKeyID: keyID), ["KeyId": .string(keyID)])
    }

    public func scheduleKeyDeletion(keyID: String, pendingWindowInDays: Int) async throws -> Double? {
        let answer = try await call("ScheduleKeyDeletion", region: try region(forKeyID: keyID), ["KeyId": .string(keyID), "PendingWindowInDays": .number(Double(pendingWindowInDays))])
        return answer["DeletionDate"]?.numberValue
    }

    public func cancelKeyDeletion(keyID: String) async throws {
        _ = try await call("CancelKeyDeletion", region: try region(forKeyID: keyID), ["KeyId": .string(keyID)])
    }

    // MARK: transport

    /// One JSON 1.1 call with retries; every failure leaves as a `KMSError`.
    public func call(_ action: String, region: String, _ members: JSONObject) async throws -> JSONValue {
        let body = Array(JSONValue.object(members).jsonText.utf8)
        var attempt = 1
        while true {
            do {
                return try await send(action: action, region: region, body: body)
            } catch let failure as AttemptFailure {
                let unit = Double.random(in: 0..<1)
                guard let delay = configuration.retry.delay(afterAttempt: attempt, error: failure.error, httpStatus: failure.status, unit: unit) else {
                    throw failure.error
                }
                logger.debug("retrying KMS call", metadata: ["action": "\(action)", "region": "\(region)", "attempt": "\(attempt)", "code": "\(failure.error.code)"])
                try await sleep(delay)
                attempt += 1
            }
        }
    }

    private struct AttemptFailure: Error {
        let error: KMSError
        let status: Int?
    }

    private func send(action: String, region: String, body: [UInt8]) async throws -> JSONValue {
        let base = try endpoint(forRegion: region)
        guard let url = URL(string: base), let host = url.host, ["http", "https"].contains(url.scheme?.lowercased() ?? "") else {
            throw KMSError(.misconfigured, "the KMS endpoint for region \(region) is not an http(s) URL: \(base)")
        }
        let hostHeader = url.port.map { "\(host):\($0)" } ?? host
        let signer = SigV4Signer(region: region, service: "kms")
        let unsigned = SigV4Signer.Request(method: "POST", path: "/", headers: [
            ("Host", hostHeader),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "TrentService.\(action)"),
        ], body: body)
        let signed = signer.sign(unsigned, credentials: credentials, amzDate: SigV4Signer.amzDate(now()))

        var request = HTTPClientRequest(url: base.hasSuffix("/") ? base : base + "/")
        request.method = .POST
        for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(body)

        let status: Int
        let answer: [UInt8]
        do {
            let response = try await httpClient.execute(request, timeout: .milliseconds(configuration.requestTimeout.milliseconds), logger: logger)
            status = Int(response.status.code)
            let buffer = try await response.body.collect(upTo: 4 * 1024 * 1024)
            answer = Array(buffer.readableBytesView)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw AttemptFailure(error: KMSError(.unreachable, "KMS in \(region) did not answer: \(error)"), status: nil)
        }
        guard (200..<300).contains(status) else {
            let classified = KMSErrorClassifier().classify(status: status, body: answer)
            logger.debug("KMS call failed", metadata: ["action": "\(action)", "region": "\(region)", "status": "\(status)", "code": "\(classified.code)"])
            throw AttemptFailure(error: classified, status: status)
        }
        do {
            return answer.isEmpty ? .object([:]) : try JSONValue(utf8: answer, limits: .shallow)
        } catch {
            // A 2xx that is not JSON comes from something that is not KMS: the endpoint is wrong.
            throw AttemptFailure(error: KMSError(.misconfigured, "the KMS endpoint for \(region) (\(base)) answered with something other than JSON: is it a KMS endpoint?"), status: nil)
        }
    }

    static func json(_ context: EncryptionContext) -> JSONValue {
        .object(JSONObject(context.pairs.map { ($0.key, .string($0.value)) }))
    }

    static func blob(_ answer: JSONValue, _ field: String) throws -> [UInt8] {
        guard let text = answer[field]?.stringValue, let data = Data(base64Encoded: text) else {
            throw KMSError(.invalidRequest, "KMS answer lacks \(field)")
        }
        return Array(data)
    }

    /// A plaintext data key straight from its base64 text into a `SymmetricKey`.
    static func key(_ answer: JSONValue, _ field: String) throws -> SymmetricKey {
        guard let text = answer[field]?.stringValue, let data = Data(base64Encoded: text) else {
            throw KMSError(.invalidRequest, "KMS answer lacks \(field)")
        }
        return SymmetricKey(data: data)
    }

    static func metadata(_ answer: JSONValue) throws -> KeyMetadata {
        guard let m = answer["KeyMetadata"], let keyID = m["KeyId"]?.stringValue, let arn = m["Arn"]?.stringValue else {
            throw KMSError(.invalidRequest, "KMS answer lacks KeyMetadata")
        }
        return KeyMetadata(keyID: keyID, arn: arn, stateName: m["KeyState"]?.stringValue ?? (m["Enabled"]?.boolValue == true ? "Enabled" : "Disabled"),
                           keySpec: m["KeySpec"]?.stringValue ?? m["CustomerMasterKeySpec"]?.stringValue ?? "",
                           // AWS always sends KeyUsage; a compatible server that omits it means CreateKey's default.
                           keyUsage: m["KeyUsage"]?.stringValue ?? "ENCRYPT_DECRYPT", description: m["Description"]?.stringValue ?? "",
                           creationDate: m["CreationDate"]?.numberValue, deletionDate: m["DeletionDate"]?.numberValue)
    }
}
