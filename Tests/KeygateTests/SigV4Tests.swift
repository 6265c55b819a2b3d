import Crypto
import Foundation
import Testing
@testable import KeygateProviders

/// The AWS SigV4 test-suite vectors and a botocore-derived Bedrock example (../shared/reference/providers.md §4.4).
@Suite struct SigV4Tests {
    let signer = SigV4Signer(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", region: "us-east-1", service: "service")
    let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z

    func signature(_ headers: [(name: String, value: String)]) -> String {
        let authorization = headers.first { $0.name == "authorization" }?.value ?? ""
        return String(authorization.split(separator: "=").last ?? "")
    }

    @Test func getVanilla() {
        let headers = signer.sign(method: "GET", url: URL(string: "https://example.amazonaws.com/")!, headers: [], body: [], date: date)
        #expect(signature(headers) == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(headers.first { $0.name == "x-amz-date" }?.value == "20150830T123600Z")
        #expect(
            headers.first { $0.name == "authorization" }?.value.hasPrefix(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=") == true)
        #expect(
            SigV4Signer.hex(signer.signingKey(day: "20150830").withUnsafeBytes { Array($0) })
                == "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75")
    }

    @Test func postVanillaAndForm() {
        #expect(
            signature(signer.sign(method: "POST", url: URL(string: "https://example.amazonaws.com/")!, headers: [], body: [], date: date))
                == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        let form = signer.sign(
            method: "POST", url: URL(string: "https://example.amazonaws.com/")!,
            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("Param1=value1".utf8), date: date)
        #expect(signature(form) == "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a")
    }

    @Test func bedrockConverse() {
        var bedrock = signer
        bedrock.service = "bedrock"
        let url = URL(string: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")!
        let headers = bedrock.sign(
            method: "POST", url: url, headers: [("Content-Type", "application/json")],
            body: Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8), date: date)
        #expect(signature(headers) == "19f9ff5f31b96d4983cc87f7191e49e8c39475e434ea6b9d581028226bdc060c")
        let authorization = headers.first { $0.name == "authorization" }?.value ?? ""
        #expect(authorization.contains("SignedHeaders=content-type;host;x-amz-date"))
        #expect(!authorization.contains("wJalrXUtnFEMI"))
    }

    @Test func temporaryCredentialsAddTheSessionToken() {
        var temporary = signer
        temporary.sessionToken = "token-123"
        let headers = temporary.sign(method: "GET", url: URL(string: "https://example.amazonaws.com/")!, headers: [], body: [], date: date)
        #expect(headers.contains { $0.name == "x-amz-security-token" && $0.value == "token-123" })
        #expect(headers.first { $0.name == "authorization" }?.value.contains("SignedHeaders=host;x-amz-date;x-amz-security-token") == true)
    }
}
