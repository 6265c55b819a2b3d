import Crypto
import Foundation

/// Keygate API keys: `kg_<lookup id>_<secret>`.
///
/// - the lookup id (12 hex digits, 48 random bits) finds the row without comparing secrets in SQL;
/// - the secret is 256 random bits (43 base64url characters);
/// - only SHA-256 of the whole key is stored, and the comparison with it is constant-time.
/// The key is high-entropy random, so a fast hash is enough: there is nothing to brute-force.
public enum APIKeyGenerator {
    public static let prefix = "kg_"

    public struct NewKey: Sendable {
        /// The full key: shown once, never stored.
        public let plaintext: String
        public let lookupID: String
        public let hash: [UInt8]
        /// Safe to display: prefix, lookup id and the last 4 characters.
        public let preview: String
    }

    /// A new key; `prefix` distinguishes kinds of key (`kg_` API keys, `kgop_` operator tokens).
    public static func generate(prefix: String = prefix) -> NewKey {
        var idBytes = [UInt8](repeating: 0, count: 6)
        var secretBytes = [UInt8](repeating: 0, count: 32)
        fillRandom(&idBytes)
        fillRandom(&secretBytes)
        let lookupID = idBytes.map { String(format: "%02x", $0) }.joined()
        let secret = Data(secretBytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let plaintext = prefix + lookupID + "_" + secret
        return NewKey(
            plaintext: plaintext, lookupID: lookupID, hash: hash(plaintext),
            preview: preview(lookupID: lookupID, plaintext: plaintext, prefix: prefix))
    }

    public static func preview(lookupID: String, plaintext: String, prefix: String = prefix) -> String {
        prefix + lookupID + "_…" + String(plaintext.suffix(4))
    }

    /// Splits a presented key into its lookup id, or nil if it is not shaped like a Keygate key.
    public static func lookupID(of presented: String, prefix: String = prefix) -> String? {
        guard presented.hasPrefix(prefix) else { return nil }
        let rest = presented.utf8.dropFirst(prefix.utf8.count)
        guard rest.count == 12 + 1 + 43 else { return nil }
        let id = rest.prefix(12)
        guard id.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }),
            rest.dropFirst(12).first == UInt8(ascii: "_")
        else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    public static func hash(_ plaintext: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(plaintext.utf8)))
    }

    /// Compares a presented key with a stored hash in time independent of where they differ.
    public static func matches(_ presented: String, storedHash: [UInt8]) -> Bool {
        ConstantTime.equal(hash(presented), storedHash)
    }

    static func fillRandom(_ bytes: inout [UInt8]) {
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = generator.next() }
    }
}

public enum ConstantTime {
    /// Equal length and equal bytes, examining every byte regardless of mismatches.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
