/// Everything Keygate keeps: the composition of one narrow protocol per area. Only the place that assembles
/// the process (`Bootstrap`, `Gateway`, the CLI) holds a whole `Store`; every other caller takes the area it
/// uses (`CreditMeter` a `LedgerStore`, …), so a backend (SQLite today, PostgreSQL later) implements the
/// areas and callers never change.
///
/// Invariants every implementation keeps, in every area:
/// - no secret is stored in plaintext (API keys arrive here already hashed, BYOK keys sealed);
/// - each method is one transaction: it happens entirely or not at all;
/// - times are Unix epoch milliseconds.
public protocol Store: StoreLifecycle, OrganizationStore, APIKeyStore, BYOKKeyStore, BYOKHealthStore, LedgerStore, LedgerMaintenanceStore,
    UsageStore, PurchaseStore, BillingAccountStore, UserStore, ChangeFeed, JobStore, OperatorStore, AuditStore
{}
