/// A packs file Keygate refuses, saying which file and which field, so the operator can fix it at start-up.
public enum PackError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    /// `field` is a path into the file such as `packs[2].price`.
    case invalid(path: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path): \(reason)"
        case .invalid(let path, let field, let reason): return "\(path): \(field) \(reason)"
        }
    }
}
