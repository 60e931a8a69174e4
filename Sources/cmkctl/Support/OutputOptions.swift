import ArgumentParser

/// `--json`, the same on every command that prints a result: one JSON document on stdout instead of
/// lines or a table. Errors stay one line on stderr either way, and the exit code does not change.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Print the result as one JSON document on stdout.")
    var json = false
}
