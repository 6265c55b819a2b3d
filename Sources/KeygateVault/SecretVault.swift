import Crypto
import Foundation

/// What a stored secret is bound to. The binding is the AES-GCM associated data: a ciphertext copied onto
/// another organisation's, provider's or key's row fails to decrypt instead of yielding someone's key.
public struct SecretBinding: Sendable, Hashable {
    public var organizationID: String
    public var provider: String
    public var keyID: String

    public init(organizationID: String, provider: String, keyID: String) {
        self.organizationID = organizationID
        self.provider = provider
        self.keyID = keyID
    }

    var associatedData: [UInt8] {
        // Length-prefixed fields, so no two different bindings share an encoding.
        var bytes = Array("keygate-byok-v1".utf8)
        for field in [organizationID, provider, keyID] {
            let utf8 = Array(field.utf8)
            withUnsafeBytes(of: UInt32(utf8.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
        return bytes
    }
}

/// A secret as stored: nonce, ciphertext and tag (`AES.GCM.SealedBox.combined`), and which master key sealed it.
public struct SealedSecret: Sendable, Hashable {
    public var combined: [UInt8]
    public var masterKeyID: String

    public init(combined: [UInt8], masterKeyID: String) {
        self.combined = combined
        self.masterKeyID = masterKeyID
    }
}

/// AES-256-GCM encryption of provider secrets under the master key, a fresh random 96-bit nonce each time.
///
/// Invariant: plaintext never leaves this type except as the return value of `open`, and errors never
/// carry any part of the secret or the ciphertext.
public enum SecretVault {
    public static func seal(_ plaintext: String, binding: SecretBinding, keyring: MasterKeyring) throws -> SealedSecret {
        do {
            let box = try AES.GCM.seal(
                Data(plaintext.utf8), using: keyring.current.key, nonce: AES.GCM.Nonce(),
                authenticating: binding.associatedData)
            guard let combined = box.combined else { throw VaultError.sealFailed }
            return SealedSecret(combined: Array(combined), masterKeyID: keyring.current.fingerprint)
        } catch is VaultError {
            throw VaultError.sealFailed
        } catch {
            throw VaultError.sealFailed
        }
    }

    public static func open(_ sealed: SealedSecret, binding: SecretBinding, keyring: MasterKeyring) throws -> String {
        guard let key = keyring.key(id: sealed.masterKeyID) else {
            throw VaultError.unknownMasterKey(id: sealed.masterKeyID)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed.combined))
            let plaintext = try AES.GCM.open(box, using: key.key, authenticating: binding.associatedData)
            return String(decoding: plaintext, as: UTF8.self)
        } catch {
            throw VaultError.decryptionFailed(keyID: binding.keyID)
        }
    }

    /// Re-encrypts under the keyring's current key (a fresh nonce too).
    public static func reseal(_ sealed: SealedSecret, binding: SecretBinding, keyring: MasterKeyring) throws -> SealedSecret {
        try seal(try open(sealed, binding: binding, keyring: keyring), binding: binding, keyring: keyring)
    }
}

public enum VaultError: Error, CustomStringConvertible, Equatable {
    case sealFailed
    case unknownMasterKey(id: String)
    case decryptionFailed(keyID: String)

    public var description: String {
        switch self {
        case .sealFailed:
            return "the secret could not be encrypted"
        case .unknownMasterKey(let id):
            return
                "a stored key is encrypted under master key \(id), which is not configured; set KEYGATE_MASTER_KEY (or KEYGATE_MASTER_KEY_PREVIOUS during a rotation) to that key"
        case .decryptionFailed(let keyID):
            return "stored key \(keyID) does not decrypt: it was altered or moved to another row"
        }
    }
}
