import HummingbirdBcrypt
import NIOPosix

/// bcrypt, always off the event loop: a hash or a check takes a quarter of a second at cost 12, which would
/// stall every connection on the loop that ran it.
public struct PasswordHasher: Sendable {
    /// Shorter passwords are refused when a user is created.
    public static let minimumLength = 10
    public let cost: UInt8

    public init(cost: UInt8 = 12) {
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// With no hash (an unknown email) the password is hashed at the same cost instead, so that the answer
    /// takes as long as for a wrong password.
    public func verify(_ password: String, hash: String?) async throws -> Bool {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive {
            guard let hash else {
                _ = Bcrypt.hash(password, cost: cost)
                return false
            }
            return Bcrypt.verify(password, hash: hash)
        }
    }

}
