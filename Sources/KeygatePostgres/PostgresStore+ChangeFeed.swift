import KeygateStore
import PostgresNIO

/// Changes from every replica, by LISTEN/NOTIFY: triggers (migration 2) send `keygate_changes` notifications
/// from the transaction of the change itself, so they are delivered when it commits, whichever process or CLI
/// made it, and never for a change rolled back. One pooled connection listens for as long as it is followed.
extension PostgresStore {
    static let changeChannel = "keygate_changes"

    public func followChanges(_ handler: @escaping @Sendable (StoreChange) -> Void) async throws {
        do {
            try await client.withConnection { connection in
                try await connection.listen(on: Self.changeChannel) { notifications in
                    for try await notification in notifications {
                        if let change = StoreChange(payload: notification.payload) { handler(change) }
                    }
                }
            }
        } catch is CancellationError {
            return
        } catch {
            if Task.isCancelled { return }
            throw Self.storeError(error, url: url)
        }
    }
}
