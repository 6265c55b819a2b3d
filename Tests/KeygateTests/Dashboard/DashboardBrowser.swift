import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A minimal browser for the dashboard's route tests: a cookie jar, form posts, and no redirect following
/// (tests look at the 303 and its `location` themselves).
final class DashboardBrowser: @unchecked Sendable {
    struct Page {
        var status: Int
        var headers: HTTPHeaders
        var text: String
        var location: String? { headers.first(name: "location") }
        var setCookies: [String] { headers["set-cookie"] }

        /// The first `<input … name="csrf_token" value="…">` (the login form's or a session form's token).
        var formToken: String? { Self.capture(#"name="csrf_token" value="([^"]+)""#, in: text) }
        /// `<meta name="csrf-token" content="…">`, what a page's `fetch` sends as `X-CSRF-Token`.
        var metaToken: String? { Self.capture(#"<meta name="csrf-token" content="([^"]+)""#, in: text) }

        static func capture(_ pattern: String, in text: String) -> String? {
            guard let regex = try? NSRegularExpression(pattern: pattern),
                let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
                let range = Range(match.range(at: 1), in: text)
            else { return nil }
            return String(text[range])
        }
    }

    let baseURL: String
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    var cookies: [String: String] = [:]

    init(baseURL: String) {
        self.baseURL = baseURL
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    func get(_ path: String, headers: [(String, String)] = []) async throws -> Page {
        try await send(.GET, path, body: nil, headers: headers)
    }

    func post(_ path: String, form: [(String, String)], headers: [(String, String)] = []) async throws -> Page {
        let body = form.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        return try await send(.POST, path, body: body, headers: [("content-type", "application/x-www-form-urlencoded")] + headers)
    }

    func send(_ method: HTTPMethod, _ path: String, body: String?, headers: [(String, String)]) async throws -> Page {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if !cookies.isEmpty { request.headers.add(name: "cookie", value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let page = Page(status: Int(response.status.code), headers: response.headers, text: String(buffer: bytes))
        for cookie in page.setCookies {
            let first = cookie.split(separator: ";").first.map(String.init) ?? ""
            let parts = first.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            if cookie.lowercased().contains("max-age=0") || parts[1].isEmpty { cookies[parts[0]] = nil } else { cookies[parts[0]] = parts[1] }
        }
        return page
    }

    /// Opens the login page and signs in with its form token.
    func logIn(email: String, password: String, headers: [(String, String)] = []) async throws -> Page {
        let form = try await get("/login")
        return try await post(
            "/login", form: [("email", email), ("password", password), ("csrf_token", form.formToken ?? "")], headers: headers)
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
