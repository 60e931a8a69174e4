import Foundation

/// The harnesses this binary holds, by the name `scripts/fuzz` passes in `CMK_FUZZ_TARGET`.
///
/// One binary rather than one per target: each link of a sanitized binary with every module costs
/// minutes on a small machine, and the harnesses share their checks.
let harnesses: [String: @Sendable ([UInt8]) -> Void] = [
    "message": MessageHarness.run,
    "context-json": ContextJSONHarness.run,
    "json": JSONValueHarness.run,
    "policy": PolicyHarness.run,
    "operator-config": OperatorConfigurationHarness.run,
    "workflow": WorkflowHarness.run,
    "key-arn": KeyARNHarness.run,
]

/// Chosen once in `LLVMFuzzerInitialize`; libFuzzer calls the entry point from one thread.
nonisolated(unsafe) private var selected: (@Sendable ([UInt8]) -> Void)?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    let name = ProcessInfo.processInfo.environment["CMK_FUZZ_TARGET"] ?? ""
    guard let harness = harnesses[name] else {
        let known = harnesses.keys.sorted().joined(separator: ", ")
        FileHandle.standardError.write(Data("CMK_FUZZ_TARGET must name a harness (\(known)), got \"\(name)\"\n".utf8))
        exit(64)
    }
    selected = harness
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    selected!(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
