import Foundation

/// The two edits adapters make to URL text: one percent-encoder (for path labels and query values, and for
/// SigV4's canonical request) and the trim of a base URL's trailing slashes before a path is appended.
public enum URLText {
    /// RFC 3986 percent-encoding of everything but the unreserved characters (and `/` when `keepSlash`).
    /// These are exactly SigV4's `UriEncode` rules, so the signer uses this too.
    public static func percentEncoded(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    /// `url` without its trailing slashes, so that `base + "/path"` never doubles one.
    public static func trimmingTrailingSlashes(_ url: String) -> String {
        var url = url
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
