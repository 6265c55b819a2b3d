import Foundation
import KeygateProviders

/// How Keygate reaches Stripe and where Checkout sends the customer back (SPEC §7, §11).
///
/// Invariant: the secret key and the webhook secret live only here, in memory; `description` and `dump()`
/// never show them.
public struct PaymentSettings: Sendable, CustomStringConvertible, CustomReflectable {
    /// Stripe's API origin (`KEYGATE_STRIPE_BASE_URL`); Keygate appends `/v1/…`.
    public var stripeBaseURL: String = "https://api.stripe.com"
    /// `KEYGATE_STRIPE_SECRET_KEY`; nil: buying credits is off (checkout answers 503, auto top-up never starts).
    public var secretKey: String?
    /// `KEYGATE_STRIPE_WEBHOOK_SECRET` (`whsec_…`); nil: every webhook is refused.
    public var webhookSecret: String?
    /// Where people reach this gateway's dashboard (`KEYGATE_PUBLIC_URL`): Checkout's return pages are under it.
    public var publicURL: String = "http://127.0.0.1:8080"
    /// Path of a packs file replacing the built-in set (`KEYGATE_PACKS`).
    public var packsPath: String?
    /// How long a claimed top-up may wait for Stripe's answer before this or another process asks again, with
    /// the same idempotency key (`KEYGATE_TOPUP_RETRY_SECONDS`).
    public var topUpRetrySeconds: Int64 = 120
    /// How long one call to Stripe may take before it is retried with the same idempotency key
    /// (`KEYGATE_STRIPE_TIMEOUT_SECONDS`).
    public var stripeTimeoutSeconds: Int64 = 30

    public init() {}

    public var checkoutEnabled: Bool { secretKey != nil }

    static func read(_ env: [String: String]) throws -> PaymentSettings {
        var settings = PaymentSettings()
        if let url = env["KEYGATE_STRIPE_BASE_URL"], !url.isEmpty {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw StartupError("KEYGATE_STRIPE_BASE_URL must be an http(s) origin such as https://api.stripe.com, got '\(url)'")
            }
            settings.stripeBaseURL = URLText.trimmingTrailingSlashes(url)
        }
        if let key = env["KEYGATE_STRIPE_SECRET_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
            // Names the expected shape without echoing any of the value.
            guard key.hasPrefix("sk_") || key.hasPrefix("rk_") else {
                throw StartupError("KEYGATE_STRIPE_SECRET_KEY must be a Stripe secret or restricted key (sk_… or rk_…)")
            }
            settings.secretKey = key
        }
        if let secret = env["KEYGATE_STRIPE_WEBHOOK_SECRET"]?.trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty {
            guard secret.hasPrefix("whsec_") else {
                throw StartupError("KEYGATE_STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)")
            }
            settings.webhookSecret = secret
        }
        if let url = env["KEYGATE_PUBLIC_URL"], !url.isEmpty {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw StartupError("KEYGATE_PUBLIC_URL must be the http(s) address people open the dashboard at, got '\(url)'")
            }
            settings.publicURL = URLText.trimmingTrailingSlashes(url)
        }
        if let path = env["KEYGATE_PACKS"], !path.isEmpty { settings.packsPath = path }
        for (name, setter) in [
            ("KEYGATE_TOPUP_RETRY_SECONDS", { (s: inout PaymentSettings, v: Int64) in s.topUpRetrySeconds = v }),
            ("KEYGATE_STRIPE_TIMEOUT_SECONDS", { $0.stripeTimeoutSeconds = $1 }),
        ] {
            guard let text = env[name] else { continue }
            guard let value = Int64(text), value > 0 else { throw StartupError("\(name) must be a positive number of seconds, got '\(text)'") }
            setter(&settings, value)
        }
        return settings
    }

    public var description: String {
        "PaymentSettings(stripeBaseURL: \(stripeBaseURL), secretKey: \(secretKey == nil ? "unset" : "set"), webhookSecret: \(webhookSecret == nil ? "unset" : "set"), publicURL: \(publicURL))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["stripeBaseURL": stripeBaseURL, "checkoutEnabled": checkoutEnabled, "publicURL": publicURL])
    }
}
