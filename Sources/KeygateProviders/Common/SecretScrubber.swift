import Foundation

/// Removes anything that looks like a credential from text that came from outside (an upstream error
/// message can echo the key it was sent, e.g. "Incorrect API key provided: sk-abc…").
public enum SecretScrubber {
    /// Replaces every occurrence of the given secrets, and any long token-like word, with `[redacted]`.
    public static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets where secret.count >= 4 {
            result = result.replacingOccurrences(of: secret, with: "[redacted]")
        }
        // Key-shaped words: a known prefix, or 24+ characters of key alphabet with a digit in them.
        let words = result.split(separator: " ", omittingEmptySubsequences: false)
        let prefixes = ["sk-", "sk_", "kg_", "AKIA", "ASIA", "xai-", "gsk_", "nvapi-", "pk_", "rk_", "whsec_"]
        return words.map { word -> String in
            let trimmed = word.trimmingCharacters(in: .punctuationForKeys)
            let keyAlphabet = trimmed.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "*" || $0 == "." }
            let looksPrefixed = prefixes.contains { trimmed.hasPrefix($0) } && trimmed.count >= 8
            let looksRandom = trimmed.count >= 24 && keyAlphabet && trimmed.contains(where: \.isNumber)
            return (looksPrefixed || looksRandom) ? word.replacingOccurrences(of: trimmed, with: "[redacted]") : String(word)
        }.joined(separator: " ")
    }
}

extension CharacterSet {
    static let punctuationForKeys = CharacterSet(charactersIn: "'\"`,.;:()[]{}<>")
}
