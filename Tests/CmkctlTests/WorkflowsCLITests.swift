import CMKTesting
import Foundation
import Testing

/// The workflow definitions built into the binary, as `workflows validate` and `export` show them.
@Suite struct WorkflowsCLITests {
    static let repositoryWorkflows = CLIRunner.packageRoot.appendingPathComponent("Workflows")

    /// The binary carries Workflows/ byte for byte; a definition edited without rerunning
    /// scripts/embed-workflows fails here.
    @Test func builtInDefinitionsMatchTheWorkflowsDirectory() throws {
        let scratch = try Scratch()
        let exported = scratch.url.appendingPathComponent("exported")
        let result = try CLIRunner.run(["workflows", "export", exported.path], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryWorkflows.path)
            .filter { $0.hasSuffix(".asl.json") }.sorted()
        #expect(try FileManager.default.contentsOfDirectory(atPath: exported.path).sorted() == files)
        for file in files {
            let original = try Data(contentsOf: Self.repositoryWorkflows.appendingPathComponent(file))
            let copy = try Data(contentsOf: exported.appendingPathComponent(file))
            #expect(copy == original, "\(file) differs from the built-in copy: run scripts/embed-workflows")
        }
        // An existing file is kept unless --overwrite.
        #expect(try CLIRunner.run(["workflows", "export", exported.path], in: scratch.url).status != 0)
        #expect(try CLIRunner.run(["workflows", "export", exported.path, "--overwrite"], in: scratch.url).status == 0)
    }

    @Test func validateChecksTheBuiltInDefinitionsFromAnyDirectory() throws {
        let scratch = try Scratch()
        let result = try CLIRunner.run(["workflows", "validate"], in: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdoutText.contains("ok     built-in enroll.asl.json"))
        #expect(result.stdoutText.contains("ok     built-in revocation.asl.json"))
    }

    /// The binary runs only the product's handlers: the test suite's example workflow names activities
    /// it does not know, and the test kit's worker command is not among its subcommands.
    @Test func theExampleHandlersAreNotInTheProduct() throws {
        let scratch = try Scratch()
        let fixtures = CLIRunner.packageRoot.appendingPathComponent("Tests/Fixtures/workflows")
        let result = try CLIRunner.run(["workflows", "validate", fixtures.path], in: scratch.url)
        #expect(result.status == 65)
        #expect(result.stdoutText.contains("example.asl.json: state "), "\(result.stdoutText)")
        #expect(result.stdoutText.contains(#"field "Resource": no handler named ""#), "\(result.stdoutText)")
        let worker = try CLIRunner.run(["workflow-worker", "--workflows", fixtures.path], in: scratch.url)
        #expect(worker.status == 64, "\(worker.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path(".cmkctl")))
    }

    /// What Step Functions refuses, `validate` refuses: a fractional IntervalSeconds among them.
    @Test func validateRefusesFractionalSeconds() throws {
        let scratch = try Scratch()
        let directory = scratch.url.appendingPathComponent("defs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let text = #"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::activity:tenant-probe-keys","End":true,"Retry":[{"ErrorEquals":["States.ALL"],"IntervalSeconds":0.2}]}}}"#
        try text.write(to: directory.appendingPathComponent("fast.asl.json"), atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["workflows", "validate", directory.path], in: scratch.url)
        #expect(result.status == 65)
        #expect(result.stdoutText.contains(#"field "Retry[0].IntervalSeconds": must be an integer >= 1"#))
    }
}
