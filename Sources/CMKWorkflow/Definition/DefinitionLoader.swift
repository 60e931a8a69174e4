import Foundation

/// Reads `*.asl.json` files and refuses, with file, state and field named, anything outside the supported subset.
///
/// Refusing at load time, not at run time, means a bad definition never starts an execution that would
/// strand half-way through a tenant's lifecycle.
public struct DefinitionLoader: Sendable {
    /// Handler names registered in code; a Task naming any other activity is refused.
    public let handlerNames: Set<String>

    public init(handlerNames: Set<String>) {
        self.handlerNames = handlerNames
    }

    /// Loads every `*.asl.json` in `directory`, sorted by name; the first invalid file throws.
    public func loadDirectory(_ directory: URL) throws -> [StateMachineDefinition] {
        try Self.definitionFiles(in: directory).map { try load(file: $0) }
    }

    /// The `*.asl.json` files of a directory, sorted so output is stable.
    public static func definitionFiles(in directory: URL) throws -> [URL] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw WorkflowError(.invalidDefinition, "\(directory.path): cannot list directory")
        }
        return names.filter { $0.hasSuffix(".asl.json") }.sorted().map { directory.appendingPathComponent($0) }
    }

    public func load(file: URL) throws -> StateMachineDefinition {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw WorkflowError(.invalidDefinition, "\(file.path): cannot read file")
        }
        let name = file.lastPathComponent.replacingOccurrences(of: ".asl.json", with: "")
        return try load(data: data, name: name, file: file.path)
    }

    /// Loads a definition from bytes; `file` only labels messages.
    public func load(data: Data, name: String, file: String) throws -> StateMachineDefinition {
        let document: JSONValue
        do {
            document = try JSONValue(utf8: data)
        } catch let error as JSONError {
            throw WorkflowError(.invalidDefinition, "\(file): not valid JSON (\(error.message))")
        }
        var reader = DefinitionReader(file: file, handlerNames: handlerNames)
        return try reader.readMachine(document, name: name)
    }
}
