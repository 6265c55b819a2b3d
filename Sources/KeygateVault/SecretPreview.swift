/// The masked form of a secret that the API, dashboard and logs may show: a short prefix and the last 4
/// characters (`sk-a…WXYZ`). Short secrets show only their last 4 characters, so that the preview never
/// reveals more than a small part of the secret.
public enum SecretPreview {
    public static func make(_ secret: String) -> String {
        let characters = Array(secret)
        guard characters.count >= 8 else { return "…" + String(characters.suffix(min(2, characters.count))) }
        let prefixLength = characters.count >= 20 ? 4 : 0
        return String(characters.prefix(prefixLength)) + "…" + String(characters.suffix(4))
    }
}
