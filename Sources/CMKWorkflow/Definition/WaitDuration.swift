import Foundation

/// How long a Wait state waits: a fixed or input-supplied number of seconds, or until a timestamp.
public enum WaitDuration: Sendable {
    case seconds(Double)
    case secondsPath(JSONPath)
    case timestamp(Date)
    case timestampPath(JSONPath)

    /// The instant the timer fires, computed once on entry so a restart does not restart the wait.
    public func dueDate(enteredAt now: Date, input: JSONValue) throws -> Date {
        switch self {
        case .seconds(let seconds):
            return now.addingTimeInterval(seconds)
        case .secondsPath(let path):
            guard let seconds = path.read(from: input)?.numberValue, seconds >= 0 else {
                throw WorkflowError(.invalidJSON, "SecondsPath \(path) does not hold a non-negative number")
            }
            return now.addingTimeInterval(seconds)
        case .timestamp(let date):
            return date
        case .timestampPath(let path):
            guard let text = path.read(from: input)?.stringValue, let date = Self.parseTimestamp(text) else {
                throw WorkflowError(.invalidJSON, "TimestampPath \(path) does not hold an ISO 8601 timestamp")
            }
            return date
        }
    }

    /// Parses RFC 3339 timestamps such as `2026-01-01T00:00:00Z`, with or without fractional seconds.
    public static func parseTimestamp(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return try? fractional.parse(text)
    }
}
