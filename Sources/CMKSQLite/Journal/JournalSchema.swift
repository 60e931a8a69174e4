import GRDB

/// The journal's schema, only ever changed by appending migrations; shipped migration ids are never edited.
///
/// The index is on `status` alone, not `(status, wake_at)`: a step of a running execution rewrites
/// `wake_at` but not `status`, so it leaves the index pages alone and each commit writes fewer WAL pages.
/// Claims scan only the running executions.
enum JournalSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-executions-and-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE executions (
                        name TEXT PRIMARY KEY NOT NULL,
                        workflow TEXT NOT NULL,
                        status TEXT NOT NULL,
                        state TEXT NOT NULL,
                        state_input TEXT NOT NULL,
                        phase TEXT NOT NULL,
                        attempt INTEGER NOT NULL,
                        retry_counts TEXT NOT NULL,
                        due_at REAL,
                        deadline REAL,
                        signal TEXT,
                        input TEXT NOT NULL,
                        output TEXT,
                        error TEXT,
                        cause TEXT,
                        started_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        next_seq INTEGER NOT NULL,
                        wake_at REAL,
                        lease_owner TEXT,
                        lease_expires REAL
                    );
                    CREATE INDEX executions_by_status ON executions(status);
                    CREATE TABLE events (
                        execution TEXT NOT NULL REFERENCES executions(name),
                        seq INTEGER NOT NULL,
                        at REAL NOT NULL,
                        kind TEXT NOT NULL,
                        state TEXT,
                        attempt INTEGER,
                        detail TEXT NOT NULL,
                        PRIMARY KEY (execution, seq)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }
}
