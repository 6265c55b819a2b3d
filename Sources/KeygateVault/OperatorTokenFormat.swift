/// Operator tokens for `/api/admin/…`: `kgop_<lookup id>_<secret>`, made, hashed and compared exactly like
/// API keys (`APIKeyGenerator`), with a prefix of their own so that neither is ever taken for the other.
public enum OperatorTokenFormat {
    public static let prefix = "kgop_"

    public static func generate() -> APIKeyGenerator.NewKey { APIKeyGenerator.generate(prefix: prefix) }

    public static func lookupID(of presented: String) -> String? { APIKeyGenerator.lookupID(of: presented, prefix: prefix) }
}
