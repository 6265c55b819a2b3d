import KeygateCore
import Testing

@Suite struct IdentifiersTests {
    @Test func identifiersSortByCreationTimeAndNeverRepeat() {
        let earlier = Identifiers.make("req", atMs: 1_700_000_000_000)
        let later = Identifiers.make("req", atMs: 1_700_000_000_001)
        #expect(earlier.hasPrefix("req_") && earlier.count == 4 + 28, "\(earlier)")
        #expect(earlier.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(earlier < later, "time first, so a primary-key index only grows at its end")
        #expect(Identifiers.make("req") > later)
        let many = (0..<10_000).map { _ in Identifiers.make("req", atMs: 1_700_000_000_000) }
        #expect(Set(many).count == many.count, "the random part tells ids of the same millisecond apart")
    }
}
