import ArgumentParser
import CMKEnvelope
import CMKPostgres
import CMKSQLite
import CMKTenant
import Foundation

/// `cmkctl sources check`: opens every data source of the operator configuration and says, per
/// source, what is ready and what to fix before a re-encryption sweep can use it.
struct SourcesCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check the configured data sources: reachable, table and columns, types, an index on the id column.",
        discussion: """
        Reads "dataSources" from the operator configuration and checks each source: a SQLite or PostgreSQL \
        table must exist with its id, tenant and ciphertext columns, the ciphertext columns must be BLOB \
        (bytea), and the id column must lead the primary key or an index; a directory must exist and be \
        readable and writable. Every problem comes with what to fix. Nothing is written.
        Exit codes: 0 every source is ready (or none is configured), 78 a source has problems or the \
        configuration is invalid.
        """
    )

    @Option(help: "Operator configuration (JSON) that declares the data sources.")
    var config: String = OperatorConfiguration.defaultPath

    @Option(help: "Only the source with this name.")
    var source: String?

    @OptionGroup var output: OutputOptions

    struct SourceReport: Encodable {
        let name: String
        let kind: String
        let location: String
        let ready: Bool
        let findings: [DataSourceFinding]
    }

    struct Report: Encodable {
        let configuration: String
        let ready: Bool
        let sources: [SourceReport]
    }

    func run() async throws {
        let operatorConfiguration = try OperatorConfiguration.load(path: config)
        var sources = operatorConfiguration.dataSources
        if let source {
            sources = sources.filter { $0.name == source }
            guard !sources.isEmpty else {
                throw TenantError(.configuration, "\(config) declares no data source named \(DisplayText.quoted(source, limit: 64))")
            }
        }
        var reports: [SourceReport] = []
        for configuration in sources {
            let findings = await DataSourceOpener.check(configuration)
            reports.append(SourceReport(name: configuration.name, kind: configuration.kind.rawValue, location: configuration.locationDescription,
                                        ready: !findings.contains { $0.status == .problem }, findings: findings))
        }
        let report = Report(configuration: config, ready: reports.allSatisfy(\.ready), sources: reports)
        if output.json {
            try printJSON(report)
        } else {
            for line in Self.lines(report) { print(line.escapingControlCharacters) }
        }
        if !report.ready { throw ExitCode(CLIExit.configuration.rawValue) }
    }

    /// One line per source and finding, each escaped by the caller, so text from a database cannot add lines.
    static func lines(_ report: Report) -> [String] {
        guard !report.sources.isEmpty else { return ["no data sources in \(report.configuration)"] }
        var lines: [String] = []
        for source in report.sources {
            lines.append("\(source.name)  \(source.kind)  \(source.location)  \(source.ready ? "ready" : "NOT READY")")
            for finding in source.findings {
                lines.append("  \(finding.status == .ok ? "ok     " : "problem")  \(finding.subject): \(finding.detail)")
                if let fix = finding.fix { lines.append("           fix: \(fix)") }
            }
        }
        let problems = report.sources.filter { !$0.ready }.count
        lines.append(problems == 0 ? "\(report.sources.count) source\(report.sources.count == 1 ? "" : "s") ready"
                                   : "\(problems) of \(report.sources.count) source\(report.sources.count == 1 ? "" : "s") not ready")
        return lines
    }
}

/// Opens a data source of any kind: the one place the CLI picks the implementation for a `kind`.
enum DataSourceOpener {
    static func open(_ configuration: DataSourceConfiguration) async throws -> any DataSource {
        switch configuration.kind {
        case .sqlite: try SQLiteDataSource(configuration: configuration)
        case .postgres: try await PostgresDataSource.open(configuration)
        case .directory: try DirectoryDataSource(configuration: configuration)
        }
    }

    /// The source's findings; a source that cannot be opened is one `reachable` problem.
    static func check(_ configuration: DataSourceConfiguration) async -> [DataSourceFinding] {
        let source: any DataSource
        do {
            source = try await open(configuration)
        } catch {
            let message = (error as? TenantError)?.message ?? "\(error)"
            let fix = switch configuration.kind {
            case .sqlite: "point \"path\" at the application's existing SQLite database (relative paths start at the configuration file's folder)"
            case .postgres: "check the URL, that the server runs and that the user may log in (a missing password is read from PGPASSWORD)"
            case .directory: "correct \"path\""
            }
            return [.problem("reachable", message, fix: fix)]
        }
        let findings = await source.check()
        await source.close()
        return findings
    }
}
