/// An `InputPath`, `ResultPath` or `OutputPath` setting: a path, or JSON `null`, which ASL gives a meaning of its own.
///
/// `null` as InputPath/OutputPath means "pass `{}`"; as ResultPath it means "discard the result, keep the input".
public enum PayloadPath: Sendable, Hashable {
    case path(JSONPath)
    case discard

    public static let root = PayloadPath.path(.root)
}
