import Foundation
import PostgresNIO

/// The PostgreSQL schema: the journal's tables and the tenant tables, as migrations that are only ever
/// appended (shipped ids never change). Each migration is a list of statements (the extended protocol takes one per query).
///
/// Processes that open a new database together take turns through an advisory lock, so each migration
/// is applied once. Times are seconds since 1970 (`DOUBLE PRECISION`), as in the SQLite backend.
enum PostgresSchema {
    static let migrationLock: Int64 = 0x636D_6B63_746C_0002

    static let migrations: [(id: String, statements: [String])] = [
        (
            "v1-executions-and-events",
            [
                """
                CREATE TABLE executions (
                    name TEXT PRIMARY KEY,
                    workflow TEXT NOT NULL,
                    status TEXT NOT NULL,
                    state TEXT NOT NULL,
                    state_input TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    attempt BIGINT NOT NULL,
                    retry_counts TEXT NOT NULL,
                    due_at DOUBLE PRECISION,
                    deadline DOUBLE PRECISION,
                    signal TEXT,
                    input TEXT NOT NULL,
                    output TEXT,
                    error TEXT,
                    cause TEXT,
                    started_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    next_seq BIGINT NOT NULL,
                    wake_at DOUBLE PRECISION,
                    lease_owner TEXT,
                    lease_expires DOUBLE PRECISION
                )
                """,
                // The claim's predicate: only running executions are indexed, so the index stays small.
                "CREATE INDEX executions_running_by_wake ON executions (wake_at) WHERE status = 'running'",
                "CREATE INDEX executions_by_status ON executions (status, started_at)",
                """
                CREATE TABLE events (
                    execution TEXT NOT NULL REFERENCES executions(name),
                    seq BIGINT NOT NULL,
                    at DOUBLE PRECISION NOT NULL,
                    kind TEXT NOT NULL,
                    state TEXT,
                    attempt BIGINT,
                    detail TEXT NOT NULL,
                    PRIMARY KEY (execution, seq)
                )
                """,
                // A busy queue table: vacuum after a hundred dead rows, not a fifth of the table.
                """
                ALTER TABLE executions SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 100)
                """,
            ]
        ),
        (
            "tenant-v1-tenants-generations-audit",
            [
                """
                CREATE TABLE tenants (
                    id TEXT PRIMARY KEY,
                    ticket TEXT NOT NULL,
                    tag TEXT NOT NULL,
                    context_id TEXT UNIQUE,
                    state TEXT NOT NULL,
                    generation BIGINT NOT NULL,
                    waiting_for TEXT,
                    waiting_rounds BIGINT NOT NULL DEFAULT 0,
                    execution TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                )
                """,
                // The identifier is in every ciphertext's AAD and in tenants' key policies: never changed.
                """
                CREATE FUNCTION tenants_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF OLD.context_id IS NOT NULL AND NEW.context_id IS DISTINCT FROM OLD.context_id THEN
                        RAISE EXCEPTION 'the encryption-context identifier is immutable';
                    END IF;
                    IF NEW.tag IS DISTINCT FROM OLD.tag THEN
                        RAISE EXCEPTION 'the tag is immutable';
                    END IF;
                    RETURN NEW;
                END $$
                """,
                "CREATE TRIGGER tenants_immutable BEFORE UPDATE ON tenants FOR EACH ROW EXECUTE FUNCTION tenants_immutable()",
                """
                CREATE TABLE key_generations (
                    tenant TEXT NOT NULL REFERENCES tenants(id),
                    number BIGINT NOT NULL,
                    provider_managed BOOLEAN NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    cause TEXT NOT NULL,
                    PRIMARY KEY (tenant, number)
                )
                """,
                """
                CREATE TABLE generation_keys (
                    tenant TEXT NOT NULL,
                    number BIGINT NOT NULL,
                    region TEXT NOT NULL,
                    key_arn TEXT NOT NULL,
                    PRIMARY KEY (tenant, number, region),
                    FOREIGN KEY (tenant, number) REFERENCES key_generations(tenant, number)
                )
                """,
                """
                CREATE TABLE policy_checks (
                    tenant TEXT NOT NULL,
                    key_arn TEXT NOT NULL,
                    checked_at DOUBLE PRECISION NOT NULL,
                    blocking BOOLEAN NOT NULL,
                    report TEXT NOT NULL,
                    PRIMARY KEY (tenant, key_arn)
                )
                """,
                """
                CREATE TABLE audit_log (
                    seq BIGINT PRIMARY KEY,
                    at TEXT NOT NULL,
                    tenant TEXT,
                    kind TEXT NOT NULL,
                    action TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    cause TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                "CREATE INDEX audit_log_tenant ON audit_log (tenant, seq)",
                // Append-only through the engine; a change made around this trigger breaks the hash chain.
                """
                CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION 'the audit log is append-only';
                END $$
                """,
                """
                CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
                """,
                // The newest entry, so that cutting entries off the end is detected too.
                """
                CREATE TABLE audit_head (
                    id BIGINT PRIMARY KEY CHECK (id = 1),
                    seq BIGINT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                // One enrollment per tenant at a time, and how it ended (the domain never reads `executions`).
                """
                CREATE TABLE enrollment_claims (
                    tenant TEXT PRIMARY KEY,
                    ticket TEXT NOT NULL,
                    execution TEXT NOT NULL,
                    requested_at DOUBLE PRECISION NOT NULL,
                    outcome TEXT
                )
                """,
            ]
        ),
        (
            // Every write that changes what encrypt and decrypt see of a tenant leaves a row here and a
            // `NOTIFY cmkctl_tenants` with the tenant's id, whoever makes it; the last 10,000 rows are kept.
            "tenant-v4-change-feed",
            [
                """
                CREATE TABLE tenant_changes (
                    seq BIGSERIAL PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL
                )
                """,
                """
                CREATE FUNCTION cmkctl_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    changed TEXT;
                    recorded BIGINT;
                BEGIN
                    -- The tenant write lock (PostgresTransaction.tenantWriteLock), which cmkctl's own writes
                    -- already hold: taken here too, a write made around cmkctl also numbers its change in
                    -- commit order, so a follower reading past the newest number it saw misses nothing.
                    PERFORM pg_advisory_xact_lock(7164500657115496449);
                    IF TG_OP = 'DELETE' THEN
                        changed := to_jsonb(OLD) ->> TG_ARGV[0];
                    ELSE
                        changed := to_jsonb(NEW) ->> TG_ARGV[0];
                    END IF;
                    INSERT INTO tenant_changes (tenant, at) VALUES (changed, extract(epoch FROM clock_timestamp()))
                        RETURNING seq INTO recorded;
                    DELETE FROM tenant_changes WHERE seq <= recorded - 10000;
                    PERFORM pg_notify('cmkctl_tenants', changed);
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER tenants_changed AFTER INSERT OR DELETE OR UPDATE OF state, generation, context_id ON tenants
                FOR EACH ROW EXECUTE FUNCTION cmkctl_tenant_changed('id')
                """,
                """
                CREATE TRIGGER key_generations_changed AFTER INSERT OR DELETE OR UPDATE ON key_generations
                FOR EACH ROW EXECUTE FUNCTION cmkctl_tenant_changed('tenant')
                """,
                """
                CREATE TRIGGER generation_keys_changed AFTER INSERT OR DELETE OR UPDATE ON generation_keys
                FOR EACH ROW EXECUTE FUNCTION cmkctl_tenant_changed('tenant')
                """,
            ]
        ),
        (
            // Per-tenant API keys of the KMS event intake (only their SHA-256), and the events it recorded.
            "tenant-v5-webhook-keys-and-events",
            [
                """
                CREATE TABLE webhook_keys (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    created_at DOUBLE PRECISION NOT NULL,
                    revoked_at DOUBLE PRECISION
                )
                """,
                "CREATE INDEX webhook_keys_by_tenant ON webhook_keys (tenant, created_at)",
                """
                CREATE TABLE purge_acknowledgements (
                    tenant TEXT NOT NULL,
                    process TEXT NOT NULL,
                    suspended_at DOUBLE PRECISION NOT NULL,
                    purged_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (tenant, suspended_at, process)
                )
                """,
                """
                CREATE TABLE received_events (
                    key TEXT PRIMARY KEY,
                    received_at DOUBLE PRECISION NOT NULL,
                    summary TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    tenants TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            // Each tenant's re-encryptions (progress as JSON, saved with every page), the ledger of items
            // per source and generation, and when a generation was retired.
            "tenant-v6-reencryption-ledger",
            [
                """
                CREATE TABLE reencryptions (
                    tenant TEXT NOT NULL,
                    target INTEGER NOT NULL,
                    execution TEXT NOT NULL,
                    status TEXT NOT NULL,
                    progress TEXT NOT NULL,
                    started_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (tenant, target)
                )
                """,
                """
                CREATE TABLE ledger (
                    tenant TEXT NOT NULL,
                    source TEXT NOT NULL,
                    generation INTEGER NOT NULL,
                    items BIGINT NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    verified_at DOUBLE PRECISION,
                    PRIMARY KEY (tenant, source, generation)
                )
                """,
                "ALTER TABLE key_generations ADD COLUMN retired_at DOUBLE PRECISION",
            ]
        ),
        (
            // The backup catalogue: each tenant backup file (its generation, size and digest) and each
            // scheduled backup that was skipped. A status only ever moves from available to disabled.
            "tenant-v7-backups",
            [
                """
                CREATE TABLE backups (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    generation BIGINT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    items BIGINT NOT NULL,
                    bytes BIGINT NOT NULL,
                    sha256 TEXT,
                    file_name TEXT,
                    status TEXT NOT NULL CHECK (status IN ('available', 'disabled', 'skipped')),
                    reason TEXT
                )
                """,
                "CREATE INDEX backups_by_tenant ON backups (tenant, created_at)",
                """
                CREATE FUNCTION backups_status_forward() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NOT (OLD.status = NEW.status OR (OLD.status = 'available' AND NEW.status = 'disabled')) THEN
                        RAISE EXCEPTION 'a backup status only moves from available to disabled';
                    END IF;
                    RETURN NEW;
                END $$
                """,
                "CREATE TRIGGER backups_status_forward BEFORE UPDATE ON backups FOR EACH ROW EXECUTE FUNCTION backups_status_forward()",
            ]
        ),
    ]

    /// Applies the pending migrations in one transaction, under the migration lock.
    static func migrate(_ journal: PostgresJournal) async throws {
        try await journal.transaction(write: true) { transaction in
            try await transaction.query("SELECT pg_advisory_xact_lock(\(migrationLock))")
            try await transaction.query(
                """
                CREATE TABLE IF NOT EXISTS cmkctl_migrations (
                    id TEXT PRIMARY KEY,
                    applied_at DOUBLE PRECISION NOT NULL
                )
                """)
            let applied = Set(
                try await transaction.query("SELECT id FROM cmkctl_migrations").map { try Columns($0)["id"] as String })
            for migration in migrations where !applied.contains(migration.id) {
                for statement in migration.statements {
                    try await transaction.query(PostgresQuery(unsafeSQL: statement))
                }
                try await transaction.query(
                    "INSERT INTO cmkctl_migrations (id, applied_at) VALUES (\(migration.id), \(Date().timeIntervalSince1970))")
            }
        }
    }

    /// The ids of the applied migrations, in order of application.
    static func appliedMigrations(_ journal: PostgresJournal) async throws -> [String] {
        try await journal.transaction(write: false) { transaction in
            try await transaction.query("SELECT id FROM cmkctl_migrations ORDER BY applied_at, id").map {
                try Columns($0)["id"] as String
            }
        }
    }
}
