import Crypto
import Foundation

/// The 256-bit key under which BYOK secrets are encrypted. Comes from `KEYGATE_MASTER_KEY` (base64),
/// `KEYGATE_MASTER_KEY_FILE`, or, for development only, a key file Keygate creates in the data directory.
///
/// Invariant: the key material is never printed; `description` shows only a fingerprint.
public struct MasterKey: Sendable, CustomStringConvertible {
    public let key: SymmetricKey
    /// Where the key came from, for the start-up log (never the key itself).
    public let origin: Origin

    public enum Origin: Sendable, Equatable {
        case environment
        case file(String)
        /// Created by Keygate in the data directory because none was configured: development only.
        case generatedDevelopmentFile(String)
        case existingDevelopmentFile(String)
    }

    public init(key: SymmetricKey, origin: Origin) {
        self.key = key
        self.origin = origin
    }

    /// Parses base64 of exactly 32 bytes (surrounding whitespace allowed).
    public static func parse(base64 text: String, origin: Origin) throws -> MasterKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else {
            throw MasterKeyError.notBase64(source: origin.label)
        }
        guard data.count == 32 else {
            throw MasterKeyError.wrongLength(source: origin.label, bytes: data.count)
        }
        return MasterKey(key: SymmetricKey(data: data), origin: origin)
    }

    /// A short, non-reversible id of the key (first 8 hex digits of SHA-256 of a fixed label under HMAC).
    public var fingerprint: String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("keygate-master-key-fingerprint".utf8), using: key)
        return mac.prefix(4).map { String(format: "%02x", $0) }.joined()
    }

    public var description: String { "MasterKey(\(fingerprint))" }

    /// Loads the configured key, or creates the development key file (mode 0600) in `dataDirectory`.
    public static func load(environment: [String: String], dataDirectory: String) throws -> MasterKey {
        if let value = environment["KEYGATE_MASTER_KEY"], !value.isEmpty {
            return try parse(base64: value, origin: .environment)
        }
        if let path = environment["KEYGATE_MASTER_KEY_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MasterKeyError.unreadableFile(path: path)
            }
            return try parse(base64: text, origin: .file(path))
        }
        let path = (dataDirectory as NSString).appendingPathComponent("master.key")
        if FileManager.default.fileExists(atPath: path) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw MasterKeyError.unreadableFile(path: path)
            }
            return try parse(base64: text, origin: .existingDevelopmentFile(path))
        }
        let key = SymmetricKey(size: .bits256)
        let text = key.withUnsafeBytes { Data($0).base64EncodedString() } + "\n"
        // Create with 0600 from the start so the key is never readable by others, not even briefly.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw MasterKeyError.cannotCreate(path: path) }
        defer { close(fd) }
        let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        guard written == text.utf8.count else { throw MasterKeyError.cannotCreate(path: path) }
        return MasterKey(key: key, origin: .generatedDevelopmentFile(path))
    }
}

extension MasterKey.Origin {
    var label: String {
        switch self {
        case .environment: return "KEYGATE_MASTER_KEY"
        case .file(let path): return "KEYGATE_MASTER_KEY_FILE (\(path))"
        case .generatedDevelopmentFile(let path), .existingDevelopmentFile(let path): return "development key file \(path)"
        }
    }
}

public enum MasterKeyError: Error, CustomStringConvertible, Equatable {
    case notBase64(source: String)
    case wrongLength(source: String, bytes: Int)
    case unreadableFile(path: String)
    case cannotCreate(path: String)

    public var description: String {
        switch self {
        case .notBase64(let source):
            return "master key from \(source) is not valid base64; set it to base64 of 32 random bytes (e.g. `openssl rand -base64 32`)"
        case .wrongLength(let source, let bytes):
            return "master key from \(source) is \(bytes) bytes; it must be exactly 32 bytes (base64 of 32 random bytes)"
        case .unreadableFile(let path): return "master key file \(path) cannot be read"
        case .cannotCreate(let path): return "cannot create the development master key file \(path)"
        }
    }
}
