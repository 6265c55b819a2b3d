import KeygateCore

/// Builders for the Stripe calls Keygate makes. Metadata always names the organisation (`keygate_org`) and, for
/// payments, our purchase record (`keygate_purchase`): the webhook finds the purchase from either the session or
/// the PaymentIntent.
public enum StripeRequests {
    public static let organizationMetadataKey = "keygate_org"
    public static let purchaseMetadataKey = "keygate_purchase"
    /// On the customer only, so a person reading Stripe's dashboard can tell which organisation it is.
    public static let slugMetadataKey = "keygate_slug"

    /// The org's Stripe customer. The key depends only on the org, so two concurrent first checkouts create one
    /// customer (Stripe replays the first answer to the second).
    public static func createCustomer(organizationID: String, slug: String, name: String) -> StripeRequest {
        StripeRequest(
            method: "POST", path: "/v1/customers",
            form: StripeForm([
                ("name", .string(name)),
                ("metadata", .object([(organizationMetadataKey, .string(organizationID)), (slugMetadataKey, .string(slug))])),
            ]),
            idempotencyKey: "keygate-customer-\(organizationID)")
    }

    /// A hosted Checkout page selling one pack; `setup_future_usage=off_session` saves the card on the customer for
    /// auto top-ups. `successURL` may contain Stripe's `{CHECKOUT_SESSION_ID}` placeholder.
    public static func createCheckoutSession(
        purchaseID: String, organizationID: String, customerID: String, pack: CreditPack, successURL: String, cancelURL: String
    ) -> StripeRequest {
        let metadata = StripeFormValue.object([
            (organizationMetadataKey, .string(organizationID)), (purchaseMetadataKey, .string(purchaseID)),
        ])
        let lineItem = StripeFormValue.object([
            (
                "price_data",
                .object([
                    ("currency", .string(pack.currency)),
                    ("unit_amount", .integer(pack.price)),
                    ("product_data", .object([("name", .string(pack.label))])),
                ])
            ),
            ("quantity", .integer(1)),
        ])
        return StripeRequest(
            method: "POST", path: "/v1/checkout/sessions",
            form: StripeForm([
                ("mode", .string("payment")),
                ("line_items", .array([lineItem])),
                ("customer", .string(customerID)),
                ("client_reference_id", .string(purchaseID)),
                ("metadata", metadata),
                ("payment_intent_data", .object([("setup_future_usage", .string("off_session")), ("metadata", metadata)])),
                ("success_url", .string(successURL)),
                ("cancel_url", .string(cancelURL)),
            ]),
            idempotencyKey: "keygate-checkout-\(purchaseID)")
    }

    /// An off-session charge of the saved card. `payment_method_types[0]=card` keeps newer API versions from
    /// enabling automatic payment methods (which could demand a `return_url`); it is also what localstripe accepts.
    public static func createTopUpPaymentIntent(
        purchaseID: String, organizationID: String, customerID: String, paymentMethodID: String, amount: Int64, currency: String
    ) -> StripeRequest {
        StripeRequest(
            method: "POST", path: "/v1/payment_intents",
            form: StripeForm([
                ("amount", .integer(amount)),
                ("currency", .string(currency)),
                ("customer", .string(customerID)),
                ("payment_method", .string(paymentMethodID)),
                ("off_session", .boolean(true)),
                ("confirm", .boolean(true)),
                ("payment_method_types", .array([.string("card")])),
                ("metadata", .object([(organizationMetadataKey, .string(organizationID)), (purchaseMetadataKey, .string(purchaseID))])),
            ]),
            idempotencyKey: "keygate-topup-\(purchaseID)")
    }

    public static func retrievePaymentIntent(id: String) -> StripeRequest {
        StripeRequest(method: "GET", path: "/v1/payment_intents/\(pathSegment(id))")
    }

    public static func retrievePaymentMethod(id: String) -> StripeRequest {
        StripeRequest(method: "GET", path: "/v1/payment_methods/\(pathSegment(id))")
    }

    public static func retrieveCheckoutSession(id: String) -> StripeRequest {
        StripeRequest(method: "GET", path: "/v1/checkout/sessions/\(pathSegment(id))")
    }

    /// Stripe ids are `[A-Za-z0-9_]`; anything else is percent-encoded so an id can never change the path.
    static func pathSegment(_ id: String) -> String {
        StripeForm.percentEncoded(id)
    }
}
