import Foundation

/// Stops the run when a property does not hold, so libFuzzer keeps the input as a crash.
///
/// The message names the property; it never includes key bytes or plaintext.
func require(_ condition: @autoclosure () -> Bool, _ property: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    guard !condition() else { return }
    FileHandle.standardError.write(Data("property violated (\(file):\(line)): \(property())\n".utf8))
    abort()
}

/// Words that must never reach a user in an error message: Swift type names and Foundation domains
/// mean an error was interpolated raw instead of being described.
private let internalNames = ["Swift.", "DecodingError", "NSCocoaErrorDomain", "Foundation.", "Optional(", "CodingKeys"]

/// Checks that an error message reads as prose for people: non-empty, and naming no Swift type.
func requireHumanMessage(_ message: String, _ context: String) {
    require(!message.isEmpty, "\(context): empty error message")
    for name in internalNames {
        require(!message.contains(name), "\(context): error message shows \(name): \(message)")
    }
}

/// The repository's `fixtures/` folder, found from this source file (the harness runs from a build tree).
let fixturesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // CMKFuzz
    .deletingLastPathComponent()  // Sources
    .deletingLastPathComponent()  // Fuzz
    .deletingLastPathComponent()
    .appendingPathComponent("fixtures")

/// Runs async work to completion from libFuzzer's synchronous callback.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Carries a task's result to the waiting thread; `done` in `runBlocking` orders the write before
/// the read, which is why it can be `@unchecked Sendable`.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
