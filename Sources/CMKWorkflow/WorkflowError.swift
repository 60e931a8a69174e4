/// The one error type of CMKWorkflow: a stable code that callers branch on, and a message for people.
///
/// Decisions (CLI exit codes, retries) read `code`, never `message`, so the message can be improved
/// without breaking anyone.
public struct WorkflowError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable and kebab-case, compared by value; shown in messages and `--json` output and never changed
    /// once shipped. New codes are added as new constants, so callers' `switch`es keep a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        init(_ name: String) {
            self.name = name
        }

        public var description: String { name }

        /// A definition file is not valid JSON, uses something outside the supported subset, or is inconsistent.
        public static let invalidDefinition = Code("invalid-definition")
        /// A JSON value (input, payload) could not be parsed or a path could not be applied.
        public static let invalidJSON = Code("invalid-json")
        /// No execution with that name exists in the journal.
        public static let executionNotFound = Code("execution-not-found")
        /// The execution exists but is not in a state that allows the request (not parked, already finished).
        public static let executionConflict = Code("execution-conflict")
        /// An execution names a workflow that this process has not loaded.
        public static let workflowNotLoaded = Code("workflow-not-loaded")
        /// The journal store could not be opened, migrated or written.
        public static let storeFailure = Code("store-failure")
        /// The worker's lease on an execution was lost to another worker, a cancel or a timeout.
        public static let leaseLost = Code("lease-lost")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
