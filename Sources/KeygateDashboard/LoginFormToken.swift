import Crypto
import Foundation

/// The login form's CSRF token, before there is a session: `expiry.nonce.mac`, an HMAC-SHA256 under a key
/// derived from the master key (so it holds across restarts and processes), sent both as a short-lived
/// cookie and as the form's hidden `csrf_token`. A POST must bring both, equal, with a valid MAC and not
/// expired: a foreign page can neither read the cookie nor forge the MAC. Nothing is stored per visitor.
public struct LoginFormToken: Sendable {
    public static let cookieName = "kg_login_csrf"
    public static let lifetimeSeconds: Int64 = 3600
    private let key: SymmetricKey

    public init(masterKey: SymmetricKey) {
        key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: masterKey, info: Data("keygate-dashboard-login-form".utf8), outputByteCount: 32)
    }

    public func make(nowMs: Int64) -> String {
        let payload = "\(nowMs / 1000 + Self.lifetimeSeconds).\(SessionToken.make())"
        return payload + "." + mac(payload)
    }

    public func isValid(field: String?, cookie: String?, nowMs: Int64) -> Bool {
        guard let field, let cookie, SessionToken.equal(field, cookie) else { return false }
        let parts = field.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expiry = Int64(parts[0]), expiry > nowMs / 1000 else { return false }
        return SessionToken.equal(String(parts[2]), mac("\(parts[0]).\(parts[1])"))
    }

    private func mac(_ payload: String) -> String {
        SessionToken.base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)))
    }
}
