import HTTPTypes
import Hummingbird
import KeygateCore

extension Response {
    /// A JSON answer of the management API (`/api/orgs/…`).
    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.encoded())))
    }
}
