/// The Stripe API version Keygate is written against, sent as `Stripe-Version` on every request so a change of
/// the account's default version cannot change the shapes we decode.
public enum StripeAPIVersion {
    public static let pinned = "2026-09-30.endive"
    public static let headerName = "Stripe-Version"
}
