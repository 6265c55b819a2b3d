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

    /// Read on every log call, so a switch, not `allCases` (which builds an array each time it is asked).
    public var level: Logger.Level {
        get {
            switch raw.load(ordering: .relaxed) {
            case 0: return .trace
            case 1: return .debug
            case 2: return .info
            case 3: return .notice
            case 4: return .warning
            case 5: return .error
            default: return .critical
            }
        }
        set { raw.store(Self.index(of: newValue), ordering: .relaxed) }
    }

    private static func index(of level: Logger.Level) -> Int {
        switch level {
        case .trace: return 0
        case .debug: return 1
        case .info: return 2
        case .notice: return 3
        case .warning: return 4
        case .error: return 5
        case .critical: return 6
        }
    }
}
