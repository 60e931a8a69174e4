import CMKEnvelope
import Crypto

/// Checks that a tenant's key works the way cmkctl will use it, one call at a time, so an operator
/// sees which step fails and how long each takes.
///
/// Steps: DescribeKey (Enabled, SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT); GenerateDataKey and Decrypt
/// with the tenant's context, checking the round trip; and a Decrypt with a different context that
/// must be refused, because a key that ignores the context would let one tenant's data key open
/// under another tenant's context.
public struct KeyProbe: Sendable {
    private let client: any KMSClient

    public init(client: some KMSClient) {
        self.client = client
    }

    /// The pair added to the context for the negative check.
    public static let wrongContextPair = EncryptionContext.Pair("cmkctl-probe", "wrong-context")

    public func probe(keyID: String, context: EncryptionContext) async -> ProbeResult {
        let region = (try? KeyARN(validating: keyID, allowAlias: true))?.region ?? "default"
        var steps: [ProbeResult.Step] = []

        let (described, describeLatency) = await timed { try await client.describeKey(keyID: keyID) }
        let metadata: KeyMetadata
        switch described {
        case .failure(let error):
            steps.append(.init(name: "DescribeKey", failure: ProbeVerdict(error.code), code: error.code, latency: describeLatency, detail: error.message))
            return ProbeResult(keyID: keyID, region: region, metadata: nil, steps: steps)
        case .success(let m):
            metadata = m
        }
        var problems: [String] = []
        var verdict: ProbeVerdict?
        let stateCode = KMSErrorClassifier.code(forKeyState: metadata.state)
        if let stateCode {
            problems.append("state is \(metadata.stateName)")
            verdict = ProbeVerdict(stateCode)
        }
        if metadata.keySpec != "SYMMETRIC_DEFAULT" || metadata.keyUsage != "ENCRYPT_DECRYPT" {
            problems.append("spec \(metadata.keySpec) / usage \(metadata.keyUsage), need SYMMETRIC_DEFAULT / ENCRYPT_DECRYPT")
            verdict = max(verdict ?? .unsuitableKey, .unsuitableKey)
        }
        steps.append(.init(name: "DescribeKey", failure: verdict, code: stateCode, latency: describeLatency,
                           detail: problems.isEmpty ? "\(metadata.stateName), \(metadata.keySpec), \(metadata.keyUsage)" : problems.joined(separator: "; ")))
        let arn = metadata.arn
        let keyRegion = (try? KeyARN(validating: arn))?.region ?? region

        let (generated, generateLatency) = await timed { try await client.generateDataKey(keyID: keyID, numberOfBytes: 32, context: context) }
        guard case .success(let dataKey) = generated else {
            if case .failure(let error) = generated {
                steps.append(.init(name: "GenerateDataKey", failure: ProbeVerdict(error.code), code: error.code, latency: generateLatency, detail: error.message))
            }
            return ProbeResult(keyID: keyID, region: keyRegion, metadata: metadata, steps: steps)
        }
        steps.append(.init(name: "GenerateDataKey", failure: nil, code: nil, latency: generateLatency, detail: "32-byte data key"))

        let (decrypted, decryptLatency) = await timed { try await client.decrypt(ciphertext: dataKey.ciphertextBlob, context: context, keyID: arn) }
        switch decrypted {
        case .failure(let error):
            steps.append(.init(name: "Decrypt", failure: ProbeVerdict(error.code), code: error.code, latency: decryptLatency, detail: error.message))
            return ProbeResult(keyID: keyID, region: keyRegion, metadata: metadata, steps: steps)
        case .success(let plain) where plain.plaintext != dataKey.plaintext:
            steps.append(.init(name: "Decrypt", failure: .misconfigured, code: nil, latency: decryptLatency, detail: "round trip returned different bytes"))
        case .success:
            steps.append(.init(name: "Decrypt", failure: nil, code: nil, latency: decryptLatency, detail: "round trip matches"))
        }

        let wrong: EncryptionContext
        do {
            wrong = try EncryptionContext(context.pairs.map { ($0.key, $0.value) } + [(Self.wrongContextPair.key, Self.wrongContextPair.value)])
        } catch {
            wrong = context
        }
        let (refused, negativeLatency) = await timed { try await client.decrypt(ciphertext: dataKey.ciphertextBlob, context: wrong, keyID: arn) }
        switch refused {
        case .success:
            steps.append(.init(name: "Decrypt(wrong context)", failure: .misconfigured, code: nil, latency: negativeLatency,
                               detail: "a different encryption context was accepted: the context is not bound"))
        case .failure(let error) where error.code == .invalidCiphertext:
            steps.append(.init(name: "Decrypt(wrong context)", failure: nil, code: error.code, latency: negativeLatency, detail: "refused as expected"))
        case .failure(let error):
            steps.append(.init(name: "Decrypt(wrong context)", failure: ProbeVerdict(error.code), code: error.code, latency: negativeLatency, detail: error.message))
        }
        return ProbeResult(keyID: keyID, region: keyRegion, metadata: metadata, steps: steps)
    }

    private func timed<T: Sendable>(_ call: () async throws -> T) async -> (Result<T, KMSError>, Duration) {
        let start = ContinuousClock.now
        do {
            let value = try await call()
            return (.success(value), ContinuousClock.now - start)
        } catch {
            return (.failure(KMSError.wrapping(error, region: "")), ContinuousClock.now - start)
        }
    }
}
