import CMKServer
import CMKTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The OpenAPI document and the router hold each other true, and the document is valid OpenAPI 3.1.
@Suite struct OpenAPIDocumentTests {
    /// Every route of both listeners, as the document spells paths (`{tenant}`), with its method.
    static func routedOperations(_ harness: ServerHarness) -> Set<String> {
        let routes = harness.server.mainRouter().routes + harness.server.adminRouter().routes
        return Set(routes.map { "\($0.method.rawValue.lowercased()) \(normalized("\($0.path)"))" })
    }

    /// Hummingbird prints a parameter as `{tenant}` or `:tenant` depending on how it was declared.
    static func normalized(_ path: String) -> String {
        let segments = path.split(separator: "/").map { segment in
            segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
        }
        return "/" + segments.joined(separator: "/")
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedPathRouted() async throws {
        let harness = try await ServerHarness(adminListen: ListenAddress(host: "127.0.0.1", port: 9000))
        defer { harness.remove() }
        let document = try #require(try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.bytes())) as? [String: Any])
        #expect(document["openapi"] as? String == "3.1.0")
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, operations) in paths {
            for method in operations.keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method) \(path)")
            }
        }
        let routed = Self.routedOperations(harness)
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed).sorted())")
        #expect(routed.count == 11)
    }

    @Test func theDocumentIsValidOpenAPI31() throws {
        let python = ProcessInfo.processInfo.environment["CMK_PEER_PYTHON"] ?? CLIRunner.packageRoot.appendingPathComponent(".venv/bin/python").path
        let path = NSTemporaryDirectory() + "cmkctl-openapi-\(UUID().uuidString).json"
        try Data(OpenAPIDocument.bytes()).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
            import json, sys
            from openapi_spec_validator import validate
            from openapi_spec_validator.validation import OpenAPIV31SpecValidator
            validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)
            print("valid")
            """
        let result = try ChildProcess.run([python, "-c", script, path])
        #expect(result.status == 0, "openapi-spec-validator (scripts/bootstrap installs it): \(result.stderr)")
        #expect(result.stdout.contains("valid"))
    }

    @Test func theDocumentIsServed() async throws {
        let harness = try await ServerHarness()
        defer { harness.remove() }
        try await harness.withClient { (client: any TestClientProtocol) async throws in
            let served = try await client.get("/openapi.json", token: nil)
            #expect(served.status == .ok)
            #expect(served.headers[.contentType] == "application/json")
            #expect(served.bytes == OpenAPIDocument.bytes())
        }
    }
}
