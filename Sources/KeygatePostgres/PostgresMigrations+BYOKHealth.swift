extension PostgresMigrations {
    /// Version 6: when the scheduled health check last claimed each BYOK key (`PostgresStore+BYOKHealth`);
    /// SQLite's `010_byok_health`. Not a column the change trigger watches: a claim changes nothing a cache holds.
    static let byokHealth = Migration(
        version: 6, name: "006_byok_health",
        statements: [
            "ALTER TABLE byok_keys ADD COLUMN health_checked_at BIGINT",
            "CREATE INDEX byok_keys_health_due ON byok_keys(COALESCE(health_checked_at, last_validated_at, created_at)) WHERE status = 'active'",
        ])
}
