import Synchronization

/// A setting a SIGHUP may replace while requests read it: each read takes the value in force at that moment,
/// so a request sees one whole catalog (or policy, or pack set), old or new, never a mix.
public final class Reloadable<Value: Sendable>: Sendable {
    private let state: Mutex<(version: Int, value: Value)>

    public init(_ value: Value) {
        state = Mutex((0, value))
    }

    public var value: Value { state.withLock { $0.value } }

    /// The value with a number that changes whenever it is replaced, for what is derived from it and cached.
    public var versioned: (version: Int, value: Value) { state.withLock { $0 } }

    func replace(with value: Value) {
        state.withLock { $0 = ($0.version + 1, value) }
    }
}
