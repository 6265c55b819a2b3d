import KeygateStore

/// SQLite has no way to tell another process of a commit: the feed delivers nothing and the caches' TTLs bound
/// what another process (the CLI) changed, as they always did on one machine.
extension SQLiteStore {
    public func followChanges(_ handler: @escaping @Sendable (StoreChange) -> Void) async throws {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}
