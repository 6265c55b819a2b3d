import KeygateStore
import Logging
import ServiceLifecycle

/// Keeps this process's caches in step with changes committed anywhere (another replica, the CLI): it follows
/// the store's change feed and drops the affected entries at once. When the feed breaks (the listening
/// connection dropped) it follows again after a second; meanwhile the caches' TTLs still bound staleness.
/// Organisation settings are not cached; an organisation's change drops its suspension from the cache.
struct ChangeFollower: Service {
    let feed: any ChangeFeed
    let apiKeys: APIKeyCache
    let byokKeys: BYOKKeyCache
    let suspensions: SuspensionCache
    let logger: Logger

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await feed.followChanges { change in
                        switch change {
                        case .apiKey(let lookupID): apiKeys.invalidate(lookupID: lookupID)
                        case .byokKeys(let organizationID, let provider): byokKeys.invalidate(organizationID: organizationID, provider: provider)
                        case .organization(let id): suspensions.invalidate(organizationID: id)
                        }
                    }
                } catch {
                    logger.warning("the store's change feed broke; caches fall back to their TTLs until it is back", metadata: ["error": "\(error)"])
                    // Caches may have missed changes while the feed was down: start clean.
                    byokKeys.invalidateAll()
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }
}
