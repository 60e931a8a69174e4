/// One `Catch` entry: errors that, once retries are exhausted, send the execution to `next` instead of failing it.
public struct CatchRule: Sendable, Hashable {
    public let errorEquals: [String]
    public let next: String
    /// Where `{"Error": ..., "Cause": ...}` goes in the state's raw input; `$` by default.
    public let resultPath: PayloadPath

    public init(errorEquals: [String], next: String, resultPath: PayloadPath = .root) {
        self.errorEquals = errorEquals
        self.next = next
        self.resultPath = resultPath
    }

    public func handles(_ error: String) -> Bool {
        StatesError.matches(error, errorEquals)
    }
}
