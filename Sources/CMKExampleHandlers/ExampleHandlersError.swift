/// A failure in the test kit's example handlers that no library reported itself.
public struct ExampleHandlersError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
