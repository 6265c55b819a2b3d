import Logging
import Synchronization

/// The log level the process's handlers follow, which a SIGHUP may change (`log_level`, `KEYGATE_LOG_LEVEL`).
/// A handler reads it on each log call (one atomic load); one whose level was set on its own logger keeps that.
public final class LogLevelControl: Sendable {
    private let raw: Atomic<Int>

    public init(_ level: Logger.Level) {
        raw = Atomic(Self.index(of: level))
    }

    /// The one `keygate serve` configures and reloads.
    public static let process = LogLevelControl(.info)

    public var level: Logger.Level {
        get { Logger.Level.allCases[raw.load(ordering: .relaxed)] }
        set { raw.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 2
    }
}
