import GRDB

/// The tenant tables, in the same SQLite file as the workflow journal so that a transactional task
/// handler's tenant write commits with its workflow step. Migrations are only ever appended; their
/// ids never change once shipped and never collide with the journal's (`tenant-` prefix).
enum TenantSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("tenant-v1-tenants-generations-audit") { db in
            try db.execute(sql: """
                CREATE TABLE tenants (
                    id TEXT PRIMARY KEY NOT NULL,
                    ticket TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    context_id TEXT UNIQUE,
                    state TEXT NOT NULL,
                    generation INTEGER NOT NULL,
                    waiting_for TEXT,
                    waiting_rounds INTEGER NOT NULL DEFAULT 0,
                    execution TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                -- The identifier is in every ciphertext's AAD and in tenants' key policies: never changed.
                CREATE TRIGGER tenants_context_id_immutable BEFORE UPDATE OF context_id ON tenants
                WHEN OLD.context_id IS NOT NULL AND NEW.context_id IS NOT OLD.context_id
                BEGIN SELECT RAISE(ABORT, 'the encryption-context identifier is immutable'); END;
                CREATE TRIGGER tenants_tag_immutable BEFORE UPDATE OF tag ON tenants
                WHEN NEW.tag IS NOT OLD.tag
                BEGIN SELECT RAISE(ABORT, 'the tag is immutable'); END;

                CREATE TABLE key_generations (
                    tenant TEXT NOT NULL REFERENCES tenants(id),
                    number INTEGER NOT NULL,
                    provider_managed INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    cause TEXT NOT NULL,
                    PRIMARY KEY (tenant, number)
                );
                CREATE TABLE generation_keys (
                    tenant TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    region TEXT NOT NULL,
                    key_arn TEXT NOT NULL,
                    PRIMARY KEY (tenant, number, region),
                    FOREIGN KEY (tenant, number) REFERENCES key_generations(tenant, number)
                );
                -- The latest policy analysis of each key, for `status` and the customer's fix.
                CREATE TABLE policy_checks (
                    tenant TEXT NOT NULL,
                    key_arn TEXT NOT NULL,
                    checked_at REAL NOT NULL,
                    blocking INTEGER NOT NULL,
                    report TEXT NOT NULL,
                    PRIMARY KEY (tenant, key_arn)
                );

                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY NOT NULL,
                    at TEXT NOT NULL,
                    tenant TEXT,
                    kind TEXT NOT NULL,
                    action TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    cause TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                );
                CREATE INDEX audit_log_tenant ON audit_log(tenant, seq);
                -- Append-only through the engine; a change made around these triggers breaks the hash chain.
                CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                -- The newest entry, so that cutting entries off the end is detected too.
                CREATE TABLE audit_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    seq INTEGER NOT NULL,
                    hash TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("tenant-v2-enrollment-claims") { db in
            // One enrollment per tenant at a time: the ticket that claimed it and its execution.
            try db.execute(sql: """
                CREATE TABLE enrollment_claims (
                    tenant TEXT PRIMARY KEY NOT NULL,
                    ticket TEXT NOT NULL,
                    execution TEXT NOT NULL,
                    requested_at REAL NOT NULL
                );
                """)
        }
        migrator.registerMigration("tenant-v3-enrollment-claim-outcome") { db in
            // How the claim's enrollment ended, written by its last steps, so the domain never reads `executions`.
            try db.execute(sql: "ALTER TABLE enrollment_claims ADD COLUMN outcome TEXT")
        }
        migrator.registerMigration("tenant-v4-change-feed") { db in
            // Every write that changes what encrypt and decrypt see of a tenant (its state, generation,
            // identifier, or a generation or key) leaves a row here, whoever makes it; other processes
            // poll the newest number and forget that tenant. The last 10,000 changes are kept.
            var sql = """
                CREATE TABLE tenant_changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    tenant TEXT NOT NULL,
                    at REAL NOT NULL
                );
                CREATE TRIGGER tenant_changes_prune AFTER INSERT ON tenant_changes
                BEGIN DELETE FROM tenant_changes WHERE seq <= NEW.seq - 10000; END;

                """
            let now = "(julianday('now') - 2440587.5) * 86400.0"
            let sources: [(table: String, tenant: String, update: String)] = [
                ("tenants", "id", "UPDATE OF state, generation, context_id"),
                ("key_generations", "tenant", "UPDATE"),
                ("generation_keys", "tenant", "UPDATE"),
            ]
            for source in sources {
                for (event, row) in [("INSERT", "NEW"), (source.update, "NEW"), ("DELETE", "OLD")] {
                    let name = "\(source.table)_changed_\(event.split(separator: " ")[0].lowercased())"
                    sql += """
                        CREATE TRIGGER \(name) AFTER \(event) ON \(source.table)
                        BEGIN INSERT INTO tenant_changes (tenant, at) VALUES (\(row).\(source.tenant), \(now)); END;

                        """
                }
            }
            try db.execute(sql: sql)
        }
        migrator.registerMigration("tenant-v5-webhook-keys-and-events") { db in
            // Per-tenant API keys of the KMS event intake (only their SHA-256), and the events it recorded.
            try db.execute(sql: """
                CREATE TABLE webhook_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    tenant TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                );
                CREATE INDEX webhook_keys_by_tenant ON webhook_keys(tenant, created_at);
                CREATE TABLE purge_acknowledgements (
                    tenant TEXT NOT NULL,
                    process TEXT NOT NULL,
                    suspended_at REAL NOT NULL,
                    purged_at REAL NOT NULL,
                    PRIMARY KEY (tenant, suspended_at, process)
                );
                CREATE TABLE received_events (
                    key TEXT PRIMARY KEY NOT NULL,
                    received_at REAL NOT NULL,
                    summary TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    tenants TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("tenant-v6-reencryption-ledger") { db in
            // Each tenant's re-encryptions (progress as JSON, saved with every page), the ledger of items
            // per source and generation, and when a generation was retired.
            try db.execute(sql: """
                CREATE TABLE reencryptions (
                    tenant TEXT NOT NULL,
                    target INTEGER NOT NULL,
                    execution TEXT NOT NULL,
                    status TEXT NOT NULL,
                    progress TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (tenant, target)
                );
                CREATE TABLE ledger (
                    tenant TEXT NOT NULL,
                    source TEXT NOT NULL,
                    generation INTEGER NOT NULL,
                    items INTEGER NOT NULL,
                    updated_at REAL NOT NULL,
                    verified_at REAL,
                    PRIMARY KEY (tenant, source, generation)
                );
                ALTER TABLE key_generations ADD COLUMN retired_at REAL;
                """)
        }
        migrator.registerMigration("tenant-v7-backups") { db in
            // The backup catalogue: each tenant backup file (its generation, size and digest) and each
            // scheduled backup that was skipped. A status only ever moves from available to disabled.
            try db.execute(sql: """
                CREATE TABLE backups (
                    id TEXT PRIMARY KEY NOT NULL,
                    tenant TEXT NOT NULL,
                    generation INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    items INTEGER NOT NULL,
                    bytes INTEGER NOT NULL,
                    sha256 TEXT,
                    file_name TEXT,
                    status TEXT NOT NULL CHECK (status IN ('available', 'disabled', 'skipped')),
                    reason TEXT
                );
                CREATE INDEX backups_by_tenant ON backups(tenant, created_at);
                CREATE TRIGGER backups_status_forward BEFORE UPDATE OF status ON backups
                WHEN NOT (OLD.status = NEW.status OR (OLD.status = 'available' AND NEW.status = 'disabled'))
                BEGIN SELECT RAISE(ABORT, 'a backup status only moves from available to disabled'); END;
                """)
        }
        return migrator
    }
}
