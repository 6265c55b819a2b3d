import HTTPTypes
import Hummingbird
import NIOCore

/// Responses of the dashboard: every one carries the strict Content-Security-Policy (no inline script or
/// style, forms post only to this origin, no framing) and `nosniff`. `form-action` also names Stripe
/// Checkout: browsers apply it to the redirects of a form's submission, and the Buy form's answer is a 303 there.
enum DashboardPage {
    static let contentSecurityPolicy = "default-src 'self'; form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'"
    static let cspName = HTTPField.Name("Content-Security-Policy")!
    static let nosniffName = HTTPField.Name("X-Content-Type-Options")!

    static func html(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
        secure(&response)
        return response
    }

    /// The stylesheet or the script: cached briefly, never sniffed.
    static func asset(_ text: String, contentType: String) -> Response {
        var response = Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
        secure(&response)
        return response
    }

    /// A small JSON answer for the page's script (the lab's receipt).
    static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var response = Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: text)))
        secure(&response)
        return response
    }

    static func redirect(to location: String) -> Response {
        var response = Response.redirect(to: location, type: .normal)
        secure(&response)
        return response
    }

    static func secure(_ response: inout Response) {
        response.headers[cspName] = contentSecurityPolicy
        response.headers[nosniffName] = "nosniff"
    }
}
