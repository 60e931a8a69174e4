/// The activity names the `cmkctl` binary registers (see Sources/cmkctl/BuiltinHandlers.swift).
enum ExampleHandlerNames {
    static let all: Set<String> = ["record-rotation", "notify-tenant", "await-approval", "exclusive-step"]
}
