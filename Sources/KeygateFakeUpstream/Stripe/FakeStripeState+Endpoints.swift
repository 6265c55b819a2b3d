/// The endpoints of the fake Stripe API: the parameters each accepts (anything else is refused, as Stripe
/// refuses it), the checks Stripe makes on their values, and the object each creates or returns.
extension FakeStripeState {
    static let customerParameters: [(name: String, param: StripeParam)] = [
        ("name", .string), ("email", .string), ("description", .string), ("phone", .string), ("metadata", .metadata),
    ]

    static let checkoutParameters: [(name: String, param: StripeParam)] = [
        ("mode", .oneOf(["payment", "setup", "subscription"])),
        (
            "line_items",
            .array(
                .hash([
                    ("price", .string),
                    (
                        "price_data",
                        .hash([
                            ("currency", .string), ("unit_amount", .integer), ("product", .string),
                            ("product_data", .hash([("name", .string), ("description", .string), ("metadata", .metadata)])),
                        ])
                    ),
                    ("quantity", .integer),
                ]))
        ),
        ("customer", .string), ("customer_email", .string), ("customer_creation", .oneOf(["always", "if_required"])),
        ("client_reference_id", .string), ("metadata", .metadata),
        (
            "payment_intent_data",
            .hash([("setup_future_usage", .oneOf(["on_session", "off_session"])), ("metadata", .metadata), ("description", .string)])
        ),
        ("payment_method_types", .array(.string)), ("success_url", .string), ("cancel_url", .string), ("expires_at", .integer),
    ]

    static let paymentIntentParameters: [(name: String, param: StripeParam)] = [
        ("amount", .integer), ("currency", .string), ("customer", .string), ("payment_method", .string),
        ("payment_method_types", .array(.string)), ("off_session", .boolean), ("confirm", .boolean), ("metadata", .metadata),
        ("description", .string), ("error_on_requires_action", .boolean),
    ]

    mutating func createCustomer(_ form: StripeForm) throws(StripeAnswer) -> StripeAnswer {
        try StripeParam.check(form.root, accepted: Self.customerParameters)
        let email = form.root["email"]?.text
        if let email, !Self.isEmail(email) { throw .invalidRequest("Invalid email address: \(email)", param: "email", code: "email_invalid") }
        let id = Self.newID("cus_", length: 14)
        objects[id] = [
            "id": .string(id), "object": "customer", "address": nil, "balance": 0, "created": .int(Self.now()), "currency": nil,
            "default_source": nil, "delinquent": false, "description": .optional(form.root["description"]?.text), "discount": nil,
            "email": .optional(email), "invoice_prefix": .string(String(Self.newID("", length: 8).uppercased())),
            "invoice_settings": ["custom_fields": nil, "default_payment_method": nil, "footer": nil, "rendering_options": nil],
            "livemode": false, "metadata": Self.metadata(form.root["metadata"]), "name": .optional(form.root["name"]?.text),
            "next_invoice_sequence": 1, "phone": .optional(form.root["phone"]?.text), "preferred_locales": [], "shipping": nil,
            "tax_exempt": "none", "test_clock": nil,
        ]
        return .ok(objects[id]!)
    }

    mutating func createCheckoutSession(_ form: StripeForm) throws(StripeAnswer) -> StripeAnswer {
        let root = form.root
        try StripeParam.check(root, accepted: Self.checkoutParameters)
        guard let mode = root["mode"]?.text else { throw .missing("mode") }
        guard mode == "payment" else { throw .invalidRequest("The fake Stripe supports only mode=payment, not \(mode).", param: "mode") }
        guard let successURL = root["success_url"]?.text else { throw .missing("success_url") }
        guard Self.isURL(successURL) else { throw .invalidRequest("Not a valid URL", param: "success_url", code: "url_invalid") }
        if let cancelURL = root["cancel_url"]?.text, !Self.isURL(cancelURL) {
            throw .invalidRequest("Not a valid URL", param: "cancel_url", code: "url_invalid")
        }
        guard let items = root["line_items"]?.elements, !items.isEmpty else { throw .missing("line_items") }
        var total = 0
        var currency: String?
        for (index, item) in items.enumerated() {
            let name = "line_items[\(index)]"
            if let price = item["price"]?.text { throw .noSuch("price", price, param: name + "[price]") }
            guard let data = item["price_data"] else { throw .missing(name + "[price_data]") }
            guard let itemCurrency = data["currency"]?.text else { throw .missing(name + "[price_data][currency]") }
            let lowered = try Self.currency(itemCurrency, param: name + "[price_data][currency]")
            guard currency == nil || currency == lowered else {
                throw .invalidRequest("All line items must use the same currency.", param: name + "[price_data][currency]")
            }
            currency = lowered
            guard let unitAmount = data["unit_amount"]?.text.flatMap({ Int($0) }) else { throw .missing(name + "[price_data][unit_amount]") }
            guard unitAmount >= 0 else {
                throw .invalidRequest("This value must be greater than or equal to 0.", param: name + "[price_data][unit_amount]")
            }
            if let product = data["product"]?.text { throw .noSuch("product", product, param: name + "[price_data][product]") }
            guard data["product_data"]?["name"]?.text != nil else { throw .missing(name + "[price_data][product_data][name]") }
            guard let quantity = item["quantity"]?.text.flatMap({ Int($0) }) else { throw .missing(name + "[quantity]") }
            guard quantity >= 1 else { throw .invalidRequest("This value must be greater than or equal to 1.", param: name + "[quantity]") }
            total += unitAmount * quantity
        }
        if currency == "usd" && total < 50 {
            throw .invalidRequest("The Checkout Session's total amount due must add up to at least $0.50 usd", param: "line_items")
        }
        let customer = root["customer"]?.text
        if let customer, object(customer, kind: "customer") == nil { throw .noSuch("customer", customer, param: "customer") }
        let customerEmail = root["customer_email"]?.text
        if customer != nil && customerEmail != nil {
            throw .invalidRequest("You may only specify one of these parameters: customer, customer_email.", param: "customer_email")
        }
        if let customerEmail, !Self.isEmail(customerEmail) {
            throw .invalidRequest("Invalid email address: \(customerEmail)", param: "customer_email", code: "email_invalid")
        }
        if let reference = root["client_reference_id"]?.text, reference.count > 200 {
            throw .invalidRequest("client_reference_id must be at most 200 characters.", param: "client_reference_id")
        }
        let now = Self.now()
        var expiresAt = now + 86_400
        if let given = root["expires_at"]?.text.flatMap({ Int($0) }) {
            guard given >= now + 1_800, given <= now + 86_400 else {
                throw .invalidRequest(
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.", param: "expires_at")
            }
            expiresAt = given
        }
        let intentData = root["payment_intent_data"]
        let id = Self.newID("cs_test_", length: 58)
        sessionIntentData[id] = [
            "setup_future_usage": .optional(intentData?["setup_future_usage"]?.text),
            "metadata": Self.metadata(intentData?["metadata"]), "description": .optional(intentData?["description"]?.text),
        ]
        objects[id] = [
            "id": .string(id), "object": "checkout.session", "after_expiration": nil, "allow_promotion_codes": nil,
            "amount_subtotal": .int(total), "amount_total": .int(total),
            "automatic_tax": ["enabled": false, "liability": nil, "status": nil], "billing_address_collection": nil,
            "cancel_url": .optional(root["cancel_url"]?.text), "client_reference_id": .optional(root["client_reference_id"]?.text),
            "client_secret": nil, "consent": nil, "created": .int(now), "currency": .optional(currency), "custom_fields": [],
            "customer": .optional(customer), "customer_creation": customer == nil ? .string(root["customer_creation"]?.text ?? "if_required") : nil,
            "customer_details": nil, "customer_email": .optional(customerEmail), "expires_at": .int(expiresAt), "invoice": nil,
            "livemode": false, "locale": nil, "metadata": Self.metadata(root["metadata"]), "mode": "payment", "payment_intent": nil,
            "payment_link": nil, "payment_method_collection": "if_required", "payment_method_types": ["card"],
            "payment_status": "unpaid", "recovered_from": nil, "setup_intent": nil, "shipping_address_collection": nil,
            "status": "open", "submit_type": nil, "subscription": nil, "success_url": .string(successURL),
            "total_details": ["amount_discount": 0, "amount_shipping": 0, "amount_tax": 0], "ui_mode": "hosted",
            "url": .string("https://checkout.stripe.com/c/pay/\(id)#fidkdWxOYHwnPyd1blpxYHZxWjA0"),
        ]
        return .ok(objects[id]!)
    }

    mutating func createPaymentIntent(_ form: StripeForm, call: FakeStripe.Call) throws(StripeAnswer) -> StripeAnswer {
        let root = form.root
        try StripeParam.check(root, accepted: Self.paymentIntentParameters)
        guard let amountText = root["amount"]?.text else { throw .missing("amount") }
        let amount = Int(amountText)!
        guard amount >= 1 else { throw .invalidRequest("This value must be greater than or equal to 1.", param: "amount") }
        guard let currencyText = root["currency"]?.text else { throw .missing("currency") }
        let currency = try Self.currency(currencyText, param: "currency")
        if currency == "usd" && amount < 50 {
            throw .invalidRequest("Amount must be at least $0.50 usd", param: "amount", code: "amount_too_small")
        }
        let confirming = root["confirm"]?.text == "true"
        if root["off_session"]?.text != nil && !confirming {
            throw .invalidRequest("You can only pass `off_session` when `confirm` is set to `true`.", param: "off_session")
        }
        if root["error_on_requires_action"]?.text != nil && !confirming {
            throw .invalidRequest("You can only pass `error_on_requires_action` when `confirm` is set to `true`.", param: "error_on_requires_action")
        }
        for (index, type) in (root["payment_method_types"]?.elements ?? []).enumerated() where type.text != "card" {
            throw .invalidRequest(
                "The payment method type provided: \(type.text ?? "") is invalid. The fake Stripe knows only card.",
                param: "payment_method_types[\(index)]")
        }
        let customer = root["customer"]?.text
        if let customer, object(customer, kind: "customer") == nil { throw .noSuch("customer", customer, param: "customer") }
        var paymentMethod: String?
        if let given = root["payment_method"]?.text {
            if let card = StripeTestCard.magic(given) {
                // Stripe makes a new payment method from a test id on every use.
                paymentMethod = newPaymentMethod(card: card, customer: nil)
            } else {
                guard let method = object(given, kind: "payment_method") else { throw .noSuch("PaymentMethod", given, param: "payment_method") }
                if let owner = method["customer"]?.string, owner != customer {
                    throw .invalidRequest(
                        customer == nil
                            ? "The PaymentMethod provided (\(given)) belongs to a Customer; pass that Customer in `customer`."
                            : "The provided PaymentMethod belongs to a different Customer than the one on this PaymentIntent.",
                        param: "payment_method")
                }
                paymentMethod = given
            }
        }
        if confirming && paymentMethod == nil {
            throw .invalidRequest(
                "You cannot confirm this PaymentIntent because it's missing a payment method.", param: "payment_method",
                code: "payment_intent_unexpected_state")
        }
        let id = newPaymentIntent(
            amount: amount, currency: currency, customer: customer, paymentMethod: paymentMethod, metadata: Self.metadata(root["metadata"]),
            description: root["description"]?.text, setupFutureUsage: nil)
        guard confirming else { return .ok(objects[id]!) }
        return .ok(
            try confirm(
                intentID: id, offSession: root["off_session"]?.text == "true",
                errorOnRequiresAction: root["error_on_requires_action"]?.text == "true", requestID: call.requestID,
                idempotencyKey: call.idempotencyKey))
    }

    func retrieve(_ id: String, kind: String, name: String, _ form: StripeForm) throws(StripeAnswer) -> StripeAnswer {
        try StripeParam.check(form.root, accepted: [("expand", .array(.string))])
        guard let found = object(id, kind: kind) else { throw .noSuch(name, id, param: "id", status: 404) }
        return .ok(found)
    }

    /// `GET /v1/payment_methods?customer=…&type=card`: the customer's saved cards, newest first.
    func listPaymentMethods(_ form: StripeForm) throws(StripeAnswer) -> StripeAnswer {
        try StripeParam.check(
            form.root, accepted: [("customer", .string), ("type", .oneOf(["card"])), ("limit", .integer), ("expand", .array(.string))])
        guard let customer = form.root["customer"]?.text else { throw .missing("customer") }
        guard object(customer, kind: "customer") != nil else { throw .noSuch("customer", customer, param: "customer") }
        let limit = form.root["limit"]?.text.flatMap { Int($0) } ?? 10
        guard (1...100).contains(limit) else { throw .invalidRequest("This value must be between 1 and 100.", param: "limit") }
        let saved = objects.values.filter { $0["object"]?.string == "payment_method" && $0["customer"]?.string == customer }
            .sorted { ($0["created"]?.int ?? 0, $0["id"]?.string ?? "") > ($1["created"]?.int ?? 0, $1["id"]?.string ?? "") }
        return .ok([
            "object": "list", "data": .array(Array(saved.prefix(limit))), "has_more": .bool(saved.count > limit),
            "url": "/v1/payment_methods",
        ])
    }

    static func currency(_ text: String, param: String) throws(StripeAnswer) -> String {
        let lowered = text.lowercased()
        guard lowered.count == 3, lowered.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .invalidRequest("Invalid currency: \(text). Stripe currently supports these currencies: usd, eur, gbp, …", param: param)
        }
        return lowered
    }

    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
    }

    static func isURL(_ text: String) -> Bool { text.hasPrefix("https://") || text.hasPrefix("http://") }
}
