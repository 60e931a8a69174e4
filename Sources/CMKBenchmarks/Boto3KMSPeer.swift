import CMKKMS
import CMKPeers
import Foundation

/// boto3 against the same moto, key and encryption context as our client, so `bench kms` can print
/// our round trip as a ratio of the Python SDK's measured in the same run.
///
/// The snippet does what the Swift side does: sequential GenerateDataKey + Decrypt pairs, after a
/// few unmeasured warm-up pairs, with retries off. It runs with the project's peer Python (the venv
/// that also provides moto), so both clients meet the same server process.
public struct Boto3KMSPeer: Sendable {
    public struct Samples: Sendable {
        public let generateDataKey: [Duration]
        public let decrypt: [Duration]
    }

    public let python: String

    public init(python: String) {
        self.python = python
    }

    /// `$CMK_PEER_PYTHON`, else `<packageRoot>/.venv/bin/python`.
    public static func locatePython(packageRoot: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let python = environment["CMK_PEER_PYTHON"], !python.isEmpty { return python }
        return packageRoot + "/.venv/bin/python"
    }

    public func roundTrips(endpoint: String, region: String, keyARN: String, context: [String: String], count: Int,
                           warmUp: Int = 20) throws -> Samples {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw KMSError(.invalidRequest, "python not found at \(python); set CMK_PEER_PYTHON or run ./scripts/bootstrap")
        }
        let contextJSON = JSONValue.object(JSONObject(context.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })).jsonText
        let run = try ChildProcess.run([python, "-c", Self.snippet, endpoint, region, keyARN, contextJSON, String(count), String(warmUp)])
        guard run.status == 0 else {
            throw KMSError(.unreachable, "the boto3 peer failed (status \(run.status)): \(run.stderr.suffix(400))")
        }
        let answer = try JSONValue(utf8: Array(run.stdout.utf8))
        func samples(_ name: String) throws -> [Duration] {
            guard case .array(let values)? = answer[name] else { throw KMSError(.invalidRequest, "the boto3 peer printed no \(name)") }
            return values.compactMap(\.numberValue).map { Duration.nanoseconds(Int64(($0 * 1_000_000).rounded())) }
        }
        return Samples(generateDataKey: try samples("generateDataKey"), decrypt: try samples("decrypt"))
    }

    /// argv: endpoint region key-arn context-json count warm-up; prints sample lists in milliseconds.
    static let snippet = """
    import json, sys, time
    import boto3
    from botocore.config import Config
    endpoint, region, key, context, count, warm = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    kms = boto3.client("kms", region_name=region, endpoint_url=endpoint, aws_access_key_id="AKIDBENCHMARK",
                       aws_secret_access_key="bench-secret", config=Config(retries={"total_max_attempts": 1}))
    generate, decrypt = [], []
    for i in range(warm + count):
        start = time.perf_counter()
        key_answer = kms.generate_data_key(KeyId=key, NumberOfBytes=32, EncryptionContext=context)
        middle = time.perf_counter()
        kms.decrypt(CiphertextBlob=key_answer["CiphertextBlob"], EncryptionContext=context, KeyId=key)
        end = time.perf_counter()
        if i >= warm:
            generate.append((middle - start) * 1000.0)
            decrypt.append((end - middle) * 1000.0)
    print(json.dumps({"generateDataKey": generate, "decrypt": decrypt}))
    """
}
