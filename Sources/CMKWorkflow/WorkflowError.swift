/// The one error type of CMKWorkflow: a stable code that callers branch on, and a message for people.
///
/// Decisions (CLI exit codes, retries) read `code`, never `message`, so the message can be improved
/// without breaking anyone.
public struct WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable reasons; raw values appear in JSON output and never change once shipped.
    public enum Code: String, Sendable, Equatable {
        /// A definition file is not valid JSON, uses something outside the supported subset, or is inconsistent.
        case invalidDefinition = "invalid_definition"
        /// A JSON value (input, payload) could not be parsed or a path could not be applied.
        case invalidJSON = "invalid_json"
        /// No execution with that name exists in the journal.
        case executionNotFound = "execution_not_found"
        /// The execution exists but is not in a state that allows the request (not parked, already finished).
        case executionConflict = "execution_conflict"
        /// An execution names a workflow that this process has not loaded.
        case workflowNotLoaded = "workflow_not_loaded"
        /// The journal store could not be opened, migrated or written.
        case storeFailure = "store_failure"
        /// The worker's lease on an execution was lost to another worker, a cancel or a timeout.
        case leaseLost = "lease_lost"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
