import Foundation

/// `KEYGATE_DATABASE_URL` for PostgreSQL, read without PostgresNIO (which has no URL parser):
/// `postgres[ql]://user[:password]@host[:port]/database[?sslmode=disable|prefer|require&pool_size=N]`.
/// The password is never part of `description`, so the URL can be logged or put in an error.
public struct PostgresDatabaseURL: Sendable, Equatable, CustomStringConvertible {
    /// How the connection is encrypted (libpq's `sslmode`; `verify-ca`/`verify-full` are refused by name).
    public enum TLSMode: String, Sendable {
        case disable
        /// TLS when the server offers it (libpq's default).
        case prefer
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// Connections in the pool (`pool_size`, default 20).
    public var poolSize: Int

    public static let defaultPoolSize = 20

    public init(
        host: String, port: Int = 5432, username: String, password: String?, database: String, tls: TLSMode = .prefer, poolSize: Int = defaultPoolSize
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.poolSize = poolSize
    }

    /// Whether `url` names PostgreSQL at all (then `init(parsing:)` says what is wrong with it).
    public static func isPostgres(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Throws a `PostgresURLError` whose words never contain the password.
    public init(parsing url: String) throws {
        guard Self.isPostgres(url), let components = URLComponents(string: url) else {
            throw PostgresURLError("KEYGATE_DATABASE_URL must look like postgres://user:password@host:5432/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresURLError("KEYGATE_DATABASE_URL names no host: postgres://user:password@HOST:5432/database")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresURLError("KEYGATE_DATABASE_URL names no user: postgres://USER:password@host:5432/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("KEYGATE_DATABASE_URL names no database: postgres://user:password@host:5432/DATABASE")
        }
        var tls = TLSMode.prefer
        var poolSize = Self.defaultPoolSize
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode", "tlsmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value.lowercased()) else {
                    throw PostgresURLError("KEYGATE_DATABASE_URL's \(item.name) must be disable, prefer or require (got '\(item.value ?? "")')")
                }
                tls = mode
            case "pool_size":
                guard let value = item.value.flatMap({ Int($0) }), (1...500).contains(value) else {
                    throw PostgresURLError("KEYGATE_DATABASE_URL's pool_size must be a whole number from 1 to 500")
                }
                poolSize = value
            default:
                throw PostgresURLError("KEYGATE_DATABASE_URL has an unknown parameter '\(item.name)' (known: sslmode, pool_size)")
            }
        }
        self.init(
            host: host, port: components.port ?? 5432, username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? user,
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding }, database: database, tls: tls, poolSize: poolSize)
    }

    /// `postgres://user@host:port/database` (no password).
    public var description: String { "postgres://\(username)@\(host):\(port)/\(database)" }
}

/// A `KEYGATE_DATABASE_URL` that cannot be used, in words (never with the password).
public struct PostgresURLError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
