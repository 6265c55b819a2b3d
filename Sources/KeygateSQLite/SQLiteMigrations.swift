import GRDB

/// Versioned schema changes, applied in order at start-up. Never edit a shipped migration: add a new one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("001_organizations_api_keys_usage") { db in
            try db.execute(
                sql: """
                    CREATE TABLE organizations (
                      id TEXT PRIMARY KEY,
                      slug TEXT NOT NULL UNIQUE,
                      name TEXT NOT NULL,
                      created_at INTEGER NOT NULL
                    );
                    CREATE TABLE api_keys (
                      id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      name TEXT NOT NULL,
                      lookup_id TEXT NOT NULL UNIQUE,
                      key_hash BLOB NOT NULL,
                      preview TEXT NOT NULL,
                      is_admin INTEGER NOT NULL DEFAULT 0,
                      created_at INTEGER NOT NULL,
                      revoked_at INTEGER
                    );
                    CREATE INDEX api_keys_by_org ON api_keys(organization_id);
                    CREATE TABLE usage_records (
                      request_id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      api_key_id TEXT NOT NULL REFERENCES api_keys(id),
                      model TEXT NOT NULL,
                      provider TEXT NOT NULL,
                      byok INTEGER NOT NULL,
                      billing TEXT,
                      input_tokens INTEGER NOT NULL,
                      output_tokens INTEGER NOT NULL,
                      cached_input_tokens INTEGER NOT NULL,
                      reasoning_tokens INTEGER NOT NULL,
                      tokens_estimated INTEGER NOT NULL,
                      cost_usd_picos INTEGER NOT NULL,
                      credits_charged_micros INTEGER NOT NULL DEFAULT 0,
                      fee_credits_micros INTEGER NOT NULL DEFAULT 0,
                      latency_ms INTEGER NOT NULL,
                      ttft_ms INTEGER,
                      stream INTEGER NOT NULL,
                      status INTEGER NOT NULL,
                      error_code TEXT,
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX usage_by_org_time ON usage_records(organization_id, created_at);
                    """)
        }
        migrator.registerMigration("002_byok_keys") { db in
            try db.execute(
                sql: """
                    CREATE TABLE byok_keys (
                      id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      provider TEXT NOT NULL,
                      ciphertext BLOB NOT NULL,
                      master_key_id TEXT NOT NULL,
                      preview TEXT NOT NULL,
                      status TEXT NOT NULL,
                      created_at INTEGER NOT NULL,
                      last_used_at INTEGER,
                      last_validated_at INTEGER,
                      last_validation_result TEXT
                    );
                    CREATE INDEX byok_keys_by_org_provider ON byok_keys(organization_id, provider, status);
                    CREATE UNIQUE INDEX byok_keys_one_active ON byok_keys(organization_id, provider) WHERE status = 'active';
                    ALTER TABLE usage_records ADD COLUMN byok_key_id TEXT;
                    ALTER TABLE organizations ADD COLUMN byok_fallback_on_rate_limit INTEGER NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("003_credit_ledger") { db in
            try db.execute(
                sql: """
                    CREATE TABLE credit_accounts (
                      organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
                      regular_micros INTEGER NOT NULL DEFAULT 0,
                      trial_micros INTEGER NOT NULL DEFAULT 0,
                      trial_expires_at INTEGER,
                      reserved_micros INTEGER NOT NULL DEFAULT 0,
                      updated_at INTEGER NOT NULL
                    );
                    CREATE TABLE ledger_entries (
                      id INTEGER PRIMARY KEY AUTOINCREMENT,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      kind TEXT NOT NULL,
                      regular_delta_micros INTEGER NOT NULL,
                      trial_delta_micros INTEGER NOT NULL,
                      reserved_delta_micros INTEGER NOT NULL,
                      available_after_micros INTEGER NOT NULL,
                      reserved_after_micros INTEGER NOT NULL,
                      request_id TEXT,
                      reason TEXT,
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX ledger_by_org ON ledger_entries(organization_id, id);
                    CREATE TABLE reservations (
                      request_id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      trial_micros INTEGER NOT NULL,
                      regular_micros INTEGER NOT NULL,
                      state TEXT NOT NULL,
                      instance_id TEXT NOT NULL,
                      lease_expires_at INTEGER NOT NULL,
                      created_at INTEGER NOT NULL
                    );
                    CREATE INDEX reservations_open ON reservations(state, instance_id);
                    CREATE TABLE instances (
                      id TEXT PRIMARY KEY,
                      heartbeat_at INTEGER NOT NULL
                    );
                    """)
        }
        migrator.registerMigration("004_lean_ledger_writes") { db in
            // Fewer pages written per ledger transaction (each dirty page is a whole page in the WAL):
            // - ledger ids without AUTOINCREMENT: entries are never deleted, so a plain INTEGER PRIMARY KEY
            //   only grows as it is, and AUTOINCREMENT cost a write to sqlite_sequence in every transaction;
            // - a settled reservation is deleted (its reserve and settle entries in the ledger are its
            //   history), so the table holds only open and released ones and stays a few pages;
            // - reservations are keyed by request id WITHOUT ROWID: one b-tree instead of a table and its
            //   primary-key index, so a reserve and a settle each touch one page fewer;
            // - the index the sweeper uses covers open reservations only, so settling no longer moves an
            //   entry from one part of it to another.
            try db.execute(
                sql: """
                    CREATE TABLE ledger_entries_new (
                      id INTEGER PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      kind TEXT NOT NULL,
                      regular_delta_micros INTEGER NOT NULL,
                      trial_delta_micros INTEGER NOT NULL,
                      reserved_delta_micros INTEGER NOT NULL,
                      available_after_micros INTEGER NOT NULL,
                      reserved_after_micros INTEGER NOT NULL,
                      request_id TEXT,
                      reason TEXT,
                      created_at INTEGER NOT NULL
                    );
                    INSERT INTO ledger_entries_new (id, organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                      available_after_micros, reserved_after_micros, request_id, reason, created_at)
                    SELECT id, organization_id, kind, regular_delta_micros, trial_delta_micros, reserved_delta_micros,
                      available_after_micros, reserved_after_micros, request_id, reason, created_at FROM ledger_entries;
                    DROP TABLE ledger_entries;
                    ALTER TABLE ledger_entries_new RENAME TO ledger_entries;
                    CREATE INDEX ledger_by_org ON ledger_entries(organization_id, id);
                    CREATE TABLE reservations_new (
                      request_id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      trial_micros INTEGER NOT NULL,
                      regular_micros INTEGER NOT NULL,
                      state TEXT NOT NULL,
                      instance_id TEXT NOT NULL,
                      lease_expires_at INTEGER NOT NULL,
                      created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    INSERT INTO reservations_new (request_id, organization_id, trial_micros, regular_micros, state, instance_id, lease_expires_at, created_at)
                    SELECT request_id, organization_id, trial_micros, regular_micros, state, instance_id, lease_expires_at, created_at
                    FROM reservations WHERE state != 'settled';
                    DROP TABLE reservations;
                    ALTER TABLE reservations_new RENAME TO reservations;
                    CREATE INDEX reservations_open ON reservations(instance_id) WHERE state = 'open';
                    """)
        }
        migrator.registerMigration("005_no_open_reservations_index") { db in
            // Two pages fewer per credit-billed request (each dirty page is a whole page in the WAL): a reserve
            // inserted into the sweeper's index on open reservations and a settle deleted from it. The table now
            // holds only open reservations and those the sweeper returned (a request that returns its own
            // reservation deletes it, as a settlement does): a few rows, which the sweeper reads whole.
            try db.execute(sql: "DROP INDEX reservations_open")
        }
        migrator.registerMigration("006_payments") { db in
            // Buying credits (SPEC §7). Money is integers: `amount` columns in the currency's minor units, credits in µcredits.
            // - purchases: `refund_share_micros` is what the cumulative refunds are owed (credits × refunded / amount);
            //   `credits_taken_back_micros` is what refund and dispute entries actually took, net (never above `credits`).
            //   `payment_method_id` is the card a checkout saved.
            // - At most one pending top-up per organisation, whatever the code above does: a unique partial index.
            // - billing_accounts: `payment_method_created_at` is the created_at of the purchase that saved the card,
            //   so a late webhook of an older checkout does not replace a newer card. The stored state is never
            //   `in_flight`: that is read from the pending top-up itself.
            // - stripe_events: a webhook's effect and its id commit together, so each event applies once.
            // - disputes: `credits_micros` is the dispute's share of the purchase's credits (credits × disputed / amount),
            //   owed while the dispute is `open` or `lost`, not once `won`.
            try db.execute(
                sql: """
                    CREATE TABLE purchases (
                      id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      kind TEXT NOT NULL,
                      status TEXT NOT NULL,
                      pack_id TEXT NOT NULL,
                      credits_micros INTEGER NOT NULL,
                      amount INTEGER NOT NULL,
                      currency TEXT NOT NULL,
                      checkout_session_id TEXT,
                      payment_intent_id TEXT,
                      charge_id TEXT,
                      payment_method_id TEXT,
                      failure_reason TEXT,
                      refunded_amount INTEGER NOT NULL DEFAULT 0,
                      refund_share_micros INTEGER NOT NULL DEFAULT 0,
                      credits_taken_back_micros INTEGER NOT NULL DEFAULT 0,
                      created_at INTEGER NOT NULL,
                      completed_at INTEGER
                    );
                    CREATE INDEX purchases_by_org ON purchases(organization_id, created_at);
                    CREATE INDEX purchases_by_checkout_session ON purchases(checkout_session_id) WHERE checkout_session_id IS NOT NULL;
                    CREATE INDEX purchases_by_payment_intent ON purchases(payment_intent_id) WHERE payment_intent_id IS NOT NULL;
                    CREATE INDEX purchases_by_charge ON purchases(charge_id) WHERE charge_id IS NOT NULL;
                    CREATE UNIQUE INDEX purchases_one_pending_topup ON purchases(organization_id) WHERE kind = 'topup' AND status = 'pending';
                    CREATE TABLE billing_accounts (
                      organization_id TEXT PRIMARY KEY REFERENCES organizations(id),
                      stripe_customer_id TEXT,
                      payment_method_id TEXT,
                      payment_method_created_at INTEGER,
                      auto_topup_enabled INTEGER NOT NULL DEFAULT 0,
                      threshold_micros INTEGER NOT NULL DEFAULT 0,
                      pack_id TEXT,
                      monthly_limit INTEGER NOT NULL DEFAULT 0,
                      state TEXT NOT NULL DEFAULT 'idle',
                      last_error TEXT,
                      last_error_at INTEGER,
                      updated_at INTEGER NOT NULL
                    );
                    CREATE INDEX billing_accounts_by_customer ON billing_accounts(stripe_customer_id) WHERE stripe_customer_id IS NOT NULL;
                    CREATE TABLE stripe_events (
                      id TEXT PRIMARY KEY,
                      type TEXT NOT NULL,
                      applied_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE disputes (
                      id TEXT PRIMARY KEY,
                      purchase_id TEXT NOT NULL REFERENCES purchases(id),
                      credits_micros INTEGER NOT NULL,
                      status TEXT NOT NULL,
                      created_at INTEGER NOT NULL,
                      closed_at INTEGER
                    );
                    CREATE INDEX disputes_by_purchase ON disputes(purchase_id);
                    """)
        }
        migrator.registerMigration("007_users_sessions") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                      id TEXT PRIMARY KEY,
                      email TEXT NOT NULL,
                      password_hash TEXT NOT NULL,
                      created_at INTEGER NOT NULL
                    );
                    CREATE UNIQUE INDEX users_by_email ON users(lower(email));
                    CREATE TABLE memberships (
                      user_id TEXT NOT NULL REFERENCES users(id),
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
                      created_at INTEGER NOT NULL,
                      PRIMARY KEY (user_id, organization_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX memberships_by_org ON memberships(organization_id);
                    CREATE TABLE sessions (
                      id_hash TEXT PRIMARY KEY,
                      user_id TEXT NOT NULL REFERENCES users(id),
                      csrf_token TEXT NOT NULL,
                      created_at INTEGER NOT NULL,
                      expires_at INTEGER NOT NULL,
                      last_seen_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX sessions_by_user ON sessions(user_id);
                    CREATE TABLE login_failures (
                      key TEXT NOT NULL,
                      at INTEGER NOT NULL
                    );
                    CREATE INDEX login_failures_by_key ON login_failures(key, at);
                    """)
        }
        migrator.registerMigration("008_jobs") { db in
            // Jobs (SPEC §5): a job's remaining hold and what its calls were charged (each split trial/regular,
            // so a closed job returns each part where it came from); a job call's hold, carved from its job's
            // remaining, in a table of its own beside the plain reservations; the job on each usage record.
            try db.execute(
                sql: """
                    CREATE TABLE jobs (
                      id TEXT PRIMARY KEY,
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      tier TEXT,
                      status TEXT NOT NULL CHECK (status IN ('open', 'completed', 'failed')),
                      amount_micros INTEGER NOT NULL,
                      remaining_trial_micros INTEGER NOT NULL,
                      remaining_regular_micros INTEGER NOT NULL,
                      charged_trial_micros INTEGER NOT NULL DEFAULT 0,
                      charged_regular_micros INTEGER NOT NULL DEFAULT 0,
                      refunded_micros INTEGER NOT NULL DEFAULT 0,
                      refunds_late_calls INTEGER NOT NULL DEFAULT 0,
                      metadata TEXT NOT NULL,
                      expires_at INTEGER NOT NULL,
                      created_at INTEGER NOT NULL,
                      closed_at INTEGER
                    );
                    CREATE INDEX jobs_by_org ON jobs(organization_id, created_at);
                    CREATE INDEX jobs_open_by_expiry ON jobs(expires_at) WHERE status = 'open';
                    CREATE TABLE job_calls (
                      request_id TEXT PRIMARY KEY,
                      job_id TEXT NOT NULL REFERENCES jobs(id),
                      organization_id TEXT NOT NULL REFERENCES organizations(id),
                      trial_micros INTEGER NOT NULL,
                      regular_micros INTEGER NOT NULL,
                      state TEXT NOT NULL,
                      instance_id TEXT NOT NULL,
                      lease_expires_at INTEGER NOT NULL,
                      created_at INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX job_calls_by_job ON job_calls(job_id);
                    ALTER TABLE usage_records ADD COLUMN job_id TEXT;
                    CREATE INDEX usage_by_job ON usage_records(job_id) WHERE job_id IS NOT NULL;
                    """)
        }
        migrator.registerMigration("009_operators") { db in
            try db.execute(
                sql: """
                    CREATE TABLE operator_tokens (
                      id TEXT PRIMARY KEY,
                      name TEXT NOT NULL,
                      lookup_id TEXT NOT NULL UNIQUE,
                      token_hash BLOB NOT NULL,
                      preview TEXT NOT NULL,
                      created_at INTEGER NOT NULL,
                      revoked_at INTEGER
                    );
                    ALTER TABLE organizations ADD COLUMN suspended_at INTEGER;
                    ALTER TABLE organizations ADD COLUMN suspended_reason TEXT;
                    CREATE TABLE audit_records (
                      id TEXT PRIMARY KEY,
                      at INTEGER NOT NULL,
                      actor_id TEXT NOT NULL,
                      actor_name TEXT NOT NULL,
                      action TEXT NOT NULL,
                      target TEXT,
                      detail TEXT,
                      outcome TEXT NOT NULL,
                      client_address TEXT NOT NULL
                    );
                    CREATE INDEX audit_records_by_time ON audit_records(at);
                    CREATE INDEX audit_records_by_target ON audit_records(target, at);
                    """)
        }
        migrator.registerMigration("010_byok_health") { db in
            // When the scheduled health check last claimed each key (`SQLiteStore+BYOKHealth`).
            try db.execute(
                sql: """
                    ALTER TABLE byok_keys ADD COLUMN health_checked_at INTEGER;
                    CREATE INDEX byok_keys_health_due ON byok_keys(COALESCE(health_checked_at, last_validated_at, created_at))
                      WHERE status = 'active';
                    """)
        }
        return migrator
    }
}
