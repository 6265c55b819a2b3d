import KeygateCore

/// The body of `POST /api/orgs/{slug}/jobs`, checked: `{"credits"}` or `{"tier"}`, optional `"expires_in"`
/// (seconds) and `"metadata"` (an object of strings). Any mistake is a 400 naming the field; nothing is held.
struct JobRequest: Sendable, Equatable {
    enum Size: Sendable, Equatable {
        case credits(MicroCredits)
        case tier(String)
    }

    var size: Size
    var expiresInSeconds: Int64?
    var metadata: [String: String]

    static let fields: Set<String> = ["credits", "tier", "expires_in", "metadata"]
    static let maximumMetadataEntries = 20

    init(parsing body: JSONValue) throws {
        guard case .object(let object) = body else { throw GatewayError.invalidJSON("expected an object with credits or tier") }
        if let unknown = object.map(\.key).first(where: { !Self.fields.contains($0) }) {
            throw GatewayError.badRequest(
                "'\(unknown)' is not a job field: send credits or tier, and optionally expires_in and metadata.", param: unknown)
        }
        if let key = object.firstRepeatedKey { throw GatewayError.duplicateField(key) }
        switch (object["credits"], object["tier"]) {
        case (let credits?, nil):
            guard case .number(let text) = credits else {
                throw GatewayError.wrongType("credits", expected: "a number of credits", found: credits.typeName)
            }
            guard let amount = MicroCredits(creditsText: text), amount.value > 0 else {
                throw GatewayError.invalidValue("'credits' must be a positive number of credits with at most 6 decimals.", param: "credits")
            }
            size = .credits(amount)
        case (nil, let tier?):
            guard let name = tier.stringValue else { throw GatewayError.wrongType("tier", expected: "a tier name", found: tier.typeName) }
            size = .tier(name)
        case (nil, nil): throw GatewayError.missingField("credits", expected: "a number of credits (or 'tier', a tier name)")
        case (_?, _?): throw GatewayError.badRequest("Send either 'credits' or 'tier', not both.", param: "tier")
        }
        if let value = object["expires_in"], !value.isNull {
            guard let seconds = value.int64Value, (1...JobService.maximumLifetimeSeconds).contains(seconds) else {
                throw GatewayError.invalidValue(
                    "'expires_in' must be a whole number of seconds from 1 to \(JobService.maximumLifetimeSeconds).", param: "expires_in")
            }
            expiresInSeconds = seconds
        }
        metadata = [:]
        if let value = object["metadata"], !value.isNull {
            guard let entries = value.objectValue else {
                throw GatewayError.wrongType("metadata", expected: "an object of strings", found: value.typeName)
            }
            guard entries.count <= Self.maximumMetadataEntries else {
                throw GatewayError.invalidValue("'metadata' may have at most \(Self.maximumMetadataEntries) entries.", param: "metadata")
            }
            for entry in entries {
                guard let text = entry.value.stringValue else {
                    throw GatewayError.wrongType("metadata.\(entry.key)", expected: "a string", found: entry.value.typeName)
                }
                guard (1...64).contains(entry.key.count), text.count <= 512 else {
                    throw GatewayError.invalidValue("metadata keys must have 1 to 64 characters and values at most 512.", param: "metadata")
                }
                metadata[entry.key] = text
            }
        }
    }
}
