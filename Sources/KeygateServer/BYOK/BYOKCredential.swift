import Foundation
import KeygateCore
import KeygateVault

/// An organisation's provider credential, checked for shape: an API key string, or the JSON object
/// that aws and azure take. `secret` is what gets sealed; `preview` is all that is ever shown.
struct BYOKCredential: Sendable {
    let secret: String
    let preview: String
    /// For structured credentials, the parsed fields.
    let fields: [String: String]

    /// Shape errors name the field and never echo a value.
    static func parse(_ input: JSONValue, for provider: ProviderSpec) throws(GatewayError) -> BYOKCredential {
        switch provider.credential {
        case .apiKey:
            guard let text = input.stringValue else {
                throw GatewayError.wrongType("secret", expected: "a string (the API key)", found: input.typeName)
            }
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard key.count >= 8, !key.contains(where: { $0.isWhitespace }) else {
                throw GatewayError.invalidValue(
                    "The secret does not look like a \(provider.name) API key: it is too short or contains spaces. Paste the whole key from the provider's console.",
                    param: "secret")
            }
            return BYOKCredential(secret: key, preview: SecretPreview.make(key), fields: [:])
        case .aws:
            let fields = try object(input, provider: provider, required: ["accessKeyId", "secretAccessKey", "region"], optional: ["sessionToken"])
            let accessKeyID = fields["accessKeyId"]!
            guard accessKeyID.count >= 16, accessKeyID.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
                throw GatewayError.invalidValue(
                    "secret.accessKeyId does not look like an AWS access key id (20 upper-case letters and digits, e.g. AKIA…).",
                    param: "secret.accessKeyId")
            }
            guard fields["secretAccessKey"]!.count >= 30 else {
                throw GatewayError.invalidValue(
                    "secret.secretAccessKey is too short to be an AWS secret access key.", param: "secret.secretAccessKey")
            }
            guard isAWSRegion(fields["region"]!) else {
                throw GatewayError.invalidValue("secret.region must be an AWS region such as us-east-1.", param: "secret.region")
            }
            return BYOKCredential(secret: canonicalJSON(fields), preview: SecretPreview.make(fields["secretAccessKey"]!), fields: fields)
        case .azure, .azureResponses:
            let required =
                provider.credential == .azure ? ["endpoint", "apiKey", "deploymentName", "apiVersion"] : ["endpoint", "apiKey", "apiVersion"]
            let fields = try object(input, provider: provider, required: required, optional: [])
            guard let url = URL(string: fields["endpoint"]!), url.scheme == "https", url.host != nil else {
                throw GatewayError.invalidValue(
                    "secret.endpoint must be an https URL such as https://my-resource.openai.azure.com.", param: "secret.endpoint")
            }
            guard fields["apiKey"]!.count >= 16 else {
                throw GatewayError.invalidValue("secret.apiKey is too short to be an Azure OpenAI key.", param: "secret.apiKey")
            }
            return BYOKCredential(secret: canonicalJSON(fields), preview: SecretPreview.make(fields["apiKey"]!), fields: fields)
        }
    }

    /// A stored secret back to its parts (for structured credentials).
    static func fields(ofStored secret: String) -> [String: String] {
        guard let object = (try? JSONValue.decode(Array(secret.utf8)))?.objectValue else { return [:] }
        var fields: [String: String] = [:]
        for entry in object { if let text = entry.value.stringValue { fields[entry.key] = text } }
        return fields
    }

    private static func object(
        _ input: JSONValue, provider: ProviderSpec, required: [String], optional: [String]
    ) throws(GatewayError) -> [String: String] {
        var value = input
        // The CLI reads JSON text from stdin; the API may send the object itself or a JSON string.
        if let text = input.stringValue, let parsed = try? JSONValue.decode(Array(text.utf8)) { value = parsed }
        guard let object = value.objectValue else {
            throw GatewayError.invalidType("A \(provider.name) secret is a JSON object with \(required.joined(separator: ", ")).", param: "secret")
        }
        var fields: [String: String] = [:]
        for name in required + optional {
            guard let field = object[name], !field.isNull else {
                if required.contains(name) { throw GatewayError.missingField("secret.\(name)", expected: "a string") }
                continue
            }
            guard let text = field.stringValue, !text.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw GatewayError.wrongType("secret.\(name)", expected: "a non-empty string", found: field.typeName)
            }
            fields[name] = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return fields
    }

    private static func canonicalJSON(_ fields: [String: String]) -> String {
        var object = JSONObject()
        for key in fields.keys.sorted() { object[key] = .string(fields[key]!) }
        return String(decoding: JSONValue.object(object).encoded(), as: UTF8.self)
    }

    private static func isAWSRegion(_ region: String) -> Bool {
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, let last = parts.last, last.allSatisfy(\.isNumber), !last.isEmpty else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isLowercase && $0.isLetter } }
    }
}
