import Crypto
import Foundation
import Testing
@testable import KeygateVault

@Suite struct SecretVaultTests {
    static func key(_ byte: UInt8) -> MasterKey {
        MasterKey(key: SymmetricKey(data: Data(repeating: byte, count: 32)), origin: .environment)
    }
    let keyring = MasterKeyring(current: key(1))
    let binding = SecretBinding(organizationID: "org_a", provider: "openai", keyID: "byok_1")

    @Test func roundTripsWithAFreshNonceEachTime() throws {
        let a = try SecretVault.seal("sk-marker-123", binding: binding, keyring: keyring)
        let b = try SecretVault.seal("sk-marker-123", binding: binding, keyring: keyring)
        #expect(a.combined != b.combined, "a fresh nonce per encryption")
        #expect(Data(a.combined).range(of: Data("sk-marker-123".utf8)) == nil)
        #expect(a.masterKeyID == keyring.current.fingerprint)
        #expect(try SecretVault.open(a, binding: binding, keyring: keyring) == "sk-marker-123")
    }

    @Test func tamperingOrMovingACiphertextIsRefused() throws {
        let sealed = try SecretVault.seal("sk-marker-123", binding: binding, keyring: keyring)
        for index in [0, 12, sealed.combined.count - 1] {
            var flipped = sealed
            flipped.combined[index] ^= 0x01
            #expect(throws: VaultError.decryptionFailed(keyID: "byok_1")) { try SecretVault.open(flipped, binding: binding, keyring: keyring) }
        }
        var otherOrg = binding; otherOrg.organizationID = "org_b"
        var otherProvider = binding; otherProvider.provider = "groq"
        var otherRow = binding; otherRow.keyID = "byok_2"
        for moved in [otherOrg, otherProvider, otherRow] {
            #expect(throws: VaultError.self) { try SecretVault.open(sealed, binding: moved, keyring: keyring) }
        }
    }

    @Test func aWrongOrMissingMasterKeyIsRefused() throws {
        let sealed = try SecretVault.seal("sk-marker-123", binding: binding, keyring: keyring)
        let other = MasterKeyring(current: Self.key(2))
        #expect(throws: VaultError.unknownMasterKey(id: keyring.current.fingerprint)) {
            try SecretVault.open(sealed, binding: binding, keyring: other)
        }
        // Same id, different key material (a forged id) still cannot decrypt.
        var forged = sealed
        forged.masterKeyID = other.current.fingerprint
        #expect(throws: VaultError.self) { try SecretVault.open(forged, binding: binding, keyring: other) }
    }

    @Test func rotationKeepsOldRecordsReadableAndResealsUnderTheNewKey() throws {
        let old = try SecretVault.seal("sk-marker-123", binding: binding, keyring: keyring)
        let rotating = MasterKeyring(current: Self.key(2), previous: [Self.key(1)])
        #expect(try SecretVault.open(old, binding: binding, keyring: rotating) == "sk-marker-123")
        let resealed = try SecretVault.reseal(old, binding: binding, keyring: rotating)
        #expect(resealed.masterKeyID == Self.key(2).fingerprint)
        #expect(try SecretVault.open(resealed, binding: binding, keyring: MasterKeyring(current: Self.key(2))) == "sk-marker-123")
    }

    @Test func previewsShowAShortPrefixAndTheLastFour() {
        #expect(SecretPreview.make("sk-proj-abcdefghijklmnopWXYZ") == "sk-p…WXYZ")
        #expect(SecretPreview.make("shortkey1234") == "…1234")
        #expect(SecretPreview.make("abc") == "…bc")
    }

    @Test func previousKeysComeFromTheEnvironment() throws {
        let current = Data(repeating: 3, count: 32).base64EncodedString()
        let previous = Data(repeating: 4, count: 32).base64EncodedString()
        let ring = try MasterKeyring.load(
            environment: ["KEYGATE_MASTER_KEY": current, "KEYGATE_MASTER_KEY_PREVIOUS": previous], dataDirectory: "/nonexistent")
        #expect(ring.knownIDs.count == 2)
    }
}
