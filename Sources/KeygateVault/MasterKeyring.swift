/// The master keys a process knows: the current one encrypts, every one decrypts. During a rotation the
/// previous key stays here (`KEYGATE_MASTER_KEY_PREVIOUS`) until every record has been re-encrypted.
public struct MasterKeyring: Sendable {
    public let current: MasterKey
    public let previous: [MasterKey]

    public init(current: MasterKey, previous: [MasterKey] = []) {
        self.current = current
        self.previous = previous.filter { $0.fingerprint != current.fingerprint }
    }

    /// The key whose fingerprint a record names.
    public func key(id: String) -> MasterKey? {
        if current.fingerprint == id { return current }
        return previous.first { $0.fingerprint == id }
    }

    public var knownIDs: [String] { [current.fingerprint] + previous.map(\.fingerprint) }
}

extension MasterKeyring {
    /// The current key (see `MasterKey.load`) and, during a rotation, the previous ones from
    /// `KEYGATE_MASTER_KEY_PREVIOUS` (base64, comma-separated).
    public static func load(environment: [String: String], dataDirectory: String) throws -> MasterKeyring {
        let current = try MasterKey.load(environment: environment, dataDirectory: dataDirectory)
        let previous = try (environment["KEYGATE_MASTER_KEY_PREVIOUS"] ?? "")
            .split(separator: ",")
            .map { try MasterKey.parse(base64: String($0), origin: .environment) }
        return MasterKeyring(current: current, previous: previous)
    }
}
