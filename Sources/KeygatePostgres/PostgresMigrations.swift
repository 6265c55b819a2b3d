import KeygateStore
import Logging
import PostgresNIO

/// Versioned schema changes in PostgreSQL's dialect, applied in order at start-up. Never edit a shipped one:
/// add a new one. One statement per array element (PostgresNIO sends each through the extended protocol,
/// which runs one statement at a time).
///
/// Several replicas starting together apply each migration once: everything runs in one transaction that
/// first takes a transaction-level advisory lock (released by its COMMIT or ROLLBACK whatever happens, and
/// on the lock's own connection, unlike a session lock through a pool). A replica that finds the database
/// at a newer version than it knows refuses to start instead of writing to a schema it does not understand.
enum PostgresMigrations {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// The lock's key: any constant that no other application on the database uses ("keygate" in ASCII).
    static let lockKey: Int64 = 0x6B_6579_6761_7465

    /// The highest version known.
    static var latestVersion: Int { all.map(\.version).max() ?? 0 }

    /// Applies every migration not applied yet, up to `version` (all of them by default; tests stop earlier to
    /// make a database as an older Keygate left it).
    static func apply(on store: PostgresStore, upTo version: Int = .max) async throws {
        let logger = store.logger
        try await store.transaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger).collect()
            _ = try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS keygate_migrations (
                  version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger
            ).collect()
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM keygate_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            if let newest = applied.max(), newest > latestVersion {
                throw StoreError.unavailable(
                    "the database's schema is at version \(newest), newer than this Keygate knows (\(latestVersion)): "
                        + "another replica runs a newer Keygate; upgrade this one before starting it")
            }
            for migration in all.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) && migration.version <= version {
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
                }
                _ = try await connection.query(
                    "INSERT INTO keygate_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger
                ).collect()
                logger.info("applied database migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            }
        }
    }

    /// Version 1 is the schema SQLite reached with its migrations 001–007, in PostgreSQL's types: times and
    /// money as BIGINT (ms, µcredits, minor units), flags as BOOLEAN, hashes and ciphertexts as BYTEA.
    static let all: [Migration] = [
        Migration(
            version: 1, name: "001_schema",
            statements: [
                """
                CREATE TABLE organizations (
                  id TEXT PRIMARY KEY,
                  slug TEXT NOT NULL UNIQUE,
                  name TEXT NOT NULL,
                  created_at BIGINT NOT NULL,
                  byok_fallback_on_rate_limit BOOLEAN NOT NULL DEFAULT false)
                """,
                """
                CREATE TABLE api_keys (
                  id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  name TEXT NOT NULL,
                  lookup_id TEXT NOT NULL UNIQUE,
                  key_hash BYTEA NOT NULL,
                  preview TEXT NOT NULL,
                  is_admin BOOLEAN NOT NULL DEFAULT false,
                  created_at BIGINT NOT NULL,
                  revoked_at BIGINT)
                """,
                "CREATE INDEX api_keys_by_org ON api_keys(organization_id)",
                """
                CREATE TABLE usage_records (
                  request_id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  api_key_id TEXT NOT NULL REFERENCES api_keys(id),
                  model TEXT NOT NULL,
                  provider TEXT NOT NULL,
                  byok BOOLEAN NOT NULL,
                  billing TEXT,
                  input_tokens BIGINT NOT NULL,
                  output_tokens BIGINT NOT NULL,
                  cached_input_tokens BIGINT NOT NULL,
                  reasoning_tokens BIGINT NOT NULL,
                  tokens_estimated BOOLEAN NOT NULL,
                  cost_usd_picos BIGINT NOT NULL,
                  credits_charged_micros BIGINT NOT NULL DEFAULT 0,
                  fee_credits_micros BIGINT NOT NULL DEFAULT 0,
                  latency_ms BIGINT NOT NULL,
                  ttft_ms BIGINT,
                  stream BOOLEAN NOT NULL,
                  status INTEGER NOT NULL,
                  error_code TEXT,
                  created_at BIGINT NOT NULL,
                  byok_key_id TEXT)
                """,
                "CREATE INDEX usage_by_org_time ON usage_records(organization_id, created_at)",
                """
                CREATE TABLE byok_keys (
                  id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  provider TEXT NOT NULL,
                  ciphertext BYTEA NOT NULL,
                  master_key_id TEXT NOT NULL,
                  preview TEXT NOT NULL,
                  status TEXT NOT NULL,
                  created_at BIGINT NOT NULL,
                  last_used_at BIGINT,
                  last_validated_at BIGINT,
                  last_validation_result TEXT)
                """,
                "CREATE INDEX byok_keys_by_org_provider ON byok_keys(organization_id, provider, status)",
                "CREATE UNIQUE INDEX byok_keys_one_active ON byok_keys(organization_id, provider) WHERE status = 'active'",
                """
                CREATE TABLE credit_accounts (
                  organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
                  regular_micros BIGINT NOT NULL DEFAULT 0,
                  trial_micros BIGINT NOT NULL DEFAULT 0,
                  trial_expires_at BIGINT,
                  reserved_micros BIGINT NOT NULL DEFAULT 0,
                  updated_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE ledger_entries (
                  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  kind TEXT NOT NULL,
                  regular_delta_micros BIGINT NOT NULL,
                  trial_delta_micros BIGINT NOT NULL,
                  reserved_delta_micros BIGINT NOT NULL,
                  available_after_micros BIGINT NOT NULL,
                  reserved_after_micros BIGINT NOT NULL,
                  request_id TEXT,
                  reason TEXT,
                  created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX ledger_by_org ON ledger_entries(organization_id, id)",
                """
                CREATE TABLE reservations (
                  request_id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  trial_micros BIGINT NOT NULL,
                  regular_micros BIGINT NOT NULL,
                  state TEXT NOT NULL,
                  instance_id TEXT NOT NULL,
                  lease_expires_at BIGINT NOT NULL,
                  created_at BIGINT NOT NULL)
                """,
                "CREATE TABLE instances (id TEXT PRIMARY KEY, heartbeat_at BIGINT NOT NULL)",
                """
                CREATE TABLE purchases (
                  id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  kind TEXT NOT NULL,
                  status TEXT NOT NULL,
                  pack_id TEXT NOT NULL,
                  credits_micros BIGINT NOT NULL,
                  amount BIGINT NOT NULL,
                  currency TEXT NOT NULL,
                  checkout_session_id TEXT,
                  payment_intent_id TEXT,
                  charge_id TEXT,
                  payment_method_id TEXT,
                  failure_reason TEXT,
                  refunded_amount BIGINT NOT NULL DEFAULT 0,
                  refund_share_micros BIGINT NOT NULL DEFAULT 0,
                  credits_taken_back_micros BIGINT NOT NULL DEFAULT 0,
                  created_at BIGINT NOT NULL,
                  completed_at BIGINT)
                """,
                "CREATE INDEX purchases_by_org ON purchases(organization_id, created_at)",
                "CREATE INDEX purchases_by_checkout_session ON purchases(checkout_session_id) WHERE checkout_session_id IS NOT NULL",
                "CREATE INDEX purchases_by_payment_intent ON purchases(payment_intent_id) WHERE payment_intent_id IS NOT NULL",
                "CREATE INDEX purchases_by_charge ON purchases(charge_id) WHERE charge_id IS NOT NULL",
                "CREATE UNIQUE INDEX purchases_one_pending_topup ON purchases(organization_id) WHERE kind = 'topup' AND status = 'pending'",
                """
                CREATE TABLE billing_accounts (
                  organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
                  stripe_customer_id TEXT,
                  payment_method_id TEXT,
                  payment_method_created_at BIGINT,
                  auto_topup_enabled BOOLEAN NOT NULL DEFAULT false,
                  threshold_micros BIGINT NOT NULL DEFAULT 0,
                  pack_id TEXT,
                  monthly_limit BIGINT NOT NULL DEFAULT 0,
                  state TEXT NOT NULL DEFAULT 'idle',
                  last_error TEXT,
                  last_error_at BIGINT,
                  updated_at BIGINT NOT NULL)
                """,
                "CREATE INDEX billing_accounts_by_customer ON billing_accounts(stripe_customer_id) WHERE stripe_customer_id IS NOT NULL",
                "CREATE TABLE stripe_events (id TEXT PRIMARY KEY, type TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                """
                CREATE TABLE disputes (
                  id TEXT PRIMARY KEY,
                  purchase_id TEXT NOT NULL REFERENCES purchases(id),
                  credits_micros BIGINT NOT NULL,
                  status TEXT NOT NULL,
                  created_at BIGINT NOT NULL,
                  closed_at BIGINT)
                """,
                "CREATE INDEX disputes_by_purchase ON disputes(purchase_id)",
                """
                CREATE TABLE users (
                  id TEXT PRIMARY KEY,
                  email TEXT NOT NULL,
                  password_hash TEXT NOT NULL,
                  created_at BIGINT NOT NULL)
                """,
                "CREATE UNIQUE INDEX users_by_email ON users(lower(email))",
                """
                CREATE TABLE memberships (
                  user_id TEXT NOT NULL REFERENCES users(id),
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
                  created_at BIGINT NOT NULL,
                  PRIMARY KEY (user_id, organization_id))
                """,
                "CREATE INDEX memberships_by_org ON memberships(organization_id)",
                """
                CREATE TABLE sessions (
                  id_hash TEXT PRIMARY KEY,
                  user_id TEXT NOT NULL REFERENCES users(id),
                  csrf_token TEXT NOT NULL,
                  created_at BIGINT NOT NULL,
                  expires_at BIGINT NOT NULL,
                  last_seen_at BIGINT NOT NULL)
                """,
                "CREATE INDEX sessions_by_user ON sessions(user_id)",
                "CREATE TABLE login_failures (key TEXT NOT NULL, at BIGINT NOT NULL)",
                "CREATE INDEX login_failures_by_key ON login_failures(key, at)",
            ]),
        Migration(
            version: 2, name: "002_change_notifications",
            statements: [
                // Every replica's caches hear of a revoked API key, a BYOK key change or a settings change when
                // its transaction commits (`PostgresStore+ChangeFeed`). Only the columns that matter to a cache
                // fire: `byok_keys.last_used_at`, moved by every BYOK request's usage record, does not.
                """
                CREATE FUNCTION keygate_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE row_data RECORD;
                BEGIN
                  IF TG_OP = 'DELETE' THEN row_data := OLD; ELSE row_data := NEW; END IF;
                  IF TG_TABLE_NAME = 'api_keys' THEN
                    PERFORM pg_notify('keygate_changes', 'api_key:' || row_data.lookup_id);
                  ELSIF TG_TABLE_NAME = 'byok_keys' THEN
                    PERFORM pg_notify('keygate_changes', 'byok:' || row_data.organization_id || ':' || row_data.provider);
                  ELSE
                    PERFORM pg_notify('keygate_changes', 'organization:' || row_data.id);
                  END IF;
                  RETURN NULL;
                END $$
                """,
                """
                CREATE TRIGGER api_keys_changed AFTER UPDATE OF revoked_at, is_admin ON api_keys
                FOR EACH ROW EXECUTE FUNCTION keygate_notify_change()
                """,
                """
                CREATE TRIGGER byok_keys_changed AFTER INSERT OR DELETE OR UPDATE OF status, ciphertext, master_key_id ON byok_keys
                FOR EACH ROW EXECUTE FUNCTION keygate_notify_change()
                """,
                """
                CREATE TRIGGER organizations_changed AFTER UPDATE OF byok_fallback_on_rate_limit, slug, name ON organizations
                FOR EACH ROW EXECUTE FUNCTION keygate_notify_change()
                """,
            ]),
        ledgerBatches,
        Migration(
            version: 4, name: "004_jobs",
            statements: [
                // Jobs (SPEC §5), SQLite's 008_jobs in PostgreSQL's types.
                """
                CREATE TABLE jobs (
                  id TEXT PRIMARY KEY,
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  tier TEXT,
                  status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'failed')),
                  amount_micros BIGINT NOT NULL,
                  remaining_trial_micros BIGINT NOT NULL,
                  remaining_regular_micros BIGINT NOT NULL,
                  charged_trial_micros BIGINT NOT NULL DEFAULT 0,
                  charged_regular_micros BIGINT NOT NULL DEFAULT 0,
                  refunded_micros BIGINT NOT NULL DEFAULT 0,
                  refunds_late_calls BOOLEAN NOT NULL DEFAULT FALSE,
                  metadata TEXT NOT NULL,
                  expires_at BIGINT NOT NULL,
                  created_at BIGINT NOT NULL,
                  closed_at BIGINT)
                """,
                "CREATE INDEX jobs_by_org ON jobs(organization_id, created_at)",
                "CREATE INDEX jobs_open_by_expiry ON jobs(expires_at) WHERE status = 'open'",
                """
                CREATE TABLE job_calls (
                  request_id TEXT PRIMARY KEY,
                  job_id TEXT NOT NULL REFERENCES jobs(id),
                  organization_id TEXT NOT NULL REFERENCES organizations(id),
                  trial_micros BIGINT NOT NULL,
                  regular_micros BIGINT NOT NULL,
                  state TEXT NOT NULL,
                  instance_id TEXT NOT NULL,
                  lease_expires_at BIGINT NOT NULL,
                  created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX job_calls_by_job ON job_calls(job_id)",
                "ALTER TABLE usage_records ADD COLUMN job_id TEXT",
                "CREATE INDEX usage_by_job ON usage_records(job_id) WHERE job_id IS NOT NULL",
            ]),
        Migration(
            version: 5, name: "005_operators",
            statements: [
                """
                CREATE TABLE operator_tokens (
                  id TEXT PRIMARY KEY, name TEXT NOT NULL, lookup_id TEXT NOT NULL UNIQUE, token_hash BYTEA NOT NULL,
                  preview TEXT NOT NULL, created_at BIGINT NOT NULL, revoked_at BIGINT)
                """,
                "ALTER TABLE organizations ADD COLUMN suspended_at BIGINT",
                "ALTER TABLE organizations ADD COLUMN suspended_reason TEXT",
                // Every replica's suspension cache hears of a suspension at once (`ChangeFollower`).
                """
                CREATE TRIGGER organizations_suspension_changed AFTER UPDATE OF suspended_at ON organizations
                FOR EACH ROW EXECUTE FUNCTION keygate_notify_change()
                """,
                """
                CREATE TABLE audit_records (
                  id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, action TEXT NOT NULL,
                  target TEXT, detail TEXT, outcome TEXT NOT NULL, client_address TEXT NOT NULL)
                """,
                "CREATE INDEX audit_records_by_time ON audit_records(at)",
                "CREATE INDEX audit_records_by_target ON audit_records(target, at)",
            ]),
        byokHealth,
    ]
}
