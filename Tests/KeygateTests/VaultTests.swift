import Foundation
import Testing
@testable import KeygateVault

@Suite struct APIKeyTests {
    @Test func keysAreRandomRecognisableAndStoredOnlyAsHash() throws {
        let a = APIKeyGenerator.generate()
        let b = APIKeyGenerator.generate()
        #expect(a.plaintext != b.plaintext)
        #expect(a.plaintext.hasPrefix("kg_"))
        #expect(a.plaintext.count == 3 + 12 + 1 + 43)
        #expect(APIKeyGenerator.lookupID(of: a.plaintext) == a.lookupID)
        #expect(a.hash.count == 32)
        #expect(!a.preview.contains(String(a.plaintext.dropLast(4).suffix(20))))
        #expect(a.preview.hasSuffix(String(a.plaintext.suffix(4))))
        #expect(APIKeyGenerator.matches(a.plaintext, storedHash: a.hash))
        #expect(!APIKeyGenerator.matches(b.plaintext, storedHash: a.hash))
        #expect(!APIKeyGenerator.matches(a.plaintext + "x", storedHash: a.hash))
    }

    @Test func malformedKeysHaveNoLookupID() {
        for text in [
            "", "kg_", "sk-abc", "kg_XYZ123456789_" + String(repeating: "a", count: 43), "kg_0123456789ab-" + String(repeating: "a", count: 43),
        ] {
            #expect(APIKeyGenerator.lookupID(of: text) == nil, "\(text)")
        }
    }

    @Test func constantTimeEqualityComparesWholeValues() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2]))
    }
}

@Suite struct MasterKeyTests {
    static let valid = Data((0..<32).map { UInt8($0) }).base64EncodedString()

    @Test func parsesBase64Of32Bytes() throws {
        let key = try MasterKey.parse(base64: Self.valid + "\n", origin: .environment)
        #expect(key.fingerprint.count == 8)
        #expect(!key.description.contains(Self.valid))
    }

    @Test func rejectsBadKeysWithoutEchoingThem() {
        let short = Data(repeating: 7, count: 16).base64EncodedString()
        for (text, expected) in [("not base64!!", "not valid base64"), (short, "16 bytes")] {
            do {
                _ = try MasterKey.parse(base64: text, origin: .environment)
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains(expected))
                #expect(!"\(error)".contains(text))
            }
        }
    }

    @Test func createsADevelopmentKeyFileReadableOnlyByItsOwner() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kg-mk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try MasterKey.load(environment: [:], dataDirectory: dir)
        guard case .generatedDevelopmentFile(let path) = first.origin else { Issue.record("not generated"); return }
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let second = try MasterKey.load(environment: [:], dataDirectory: dir)
        #expect(second.origin == .existingDevelopmentFile(path))
        #expect(second.fingerprint == first.fingerprint)
        // The environment wins over the file.
        let fromEnv = try MasterKey.load(environment: ["KEYGATE_MASTER_KEY": Self.valid], dataDirectory: dir)
        #expect(fromEnv.origin == .environment)
    }
}
