/// What a store reports, whatever its backend: callers map these, never a database's own errors.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case duplicate(String)
    case notFound(String)
    case invalid(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .duplicate(let what): return "\(what) already exists"
        case .notFound(let what): return "\(what) not found"
        case .invalid(let why): return why
        case .unavailable(let why): return why
        }
    }
}
