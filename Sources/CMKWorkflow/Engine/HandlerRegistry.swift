/// The handlers a process can run, by activity name; loading checks every Task against it.
public struct HandlerRegistry<Transaction: Sendable>: Sendable {
    public private(set) var handlers: [String: TaskHandler<Transaction>] = [:]

    public init() {}

    public mutating func register(_ name: String, _ handler: TaskHandler<Transaction>) {
        handlers[name] = handler
    }

    public var names: Set<String> { Set(handlers.keys) }

    public subscript(name: String) -> TaskHandler<Transaction>? { handlers[name] }
}
