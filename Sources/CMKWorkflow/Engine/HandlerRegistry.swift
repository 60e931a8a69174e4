/// The handlers a process can run, by activity name; loading checks every Task against it.
public struct HandlerRegistry: Sendable {
    public private(set) var handlers: [String: TaskHandler] = [:]

    public init() {}

    public mutating func register(_ name: String, _ handler: TaskHandler) {
        handlers[name] = handler
    }

    public var names: Set<String> { Set(handlers.keys) }

    public subscript(name: String) -> TaskHandler? { handlers[name] }
}
