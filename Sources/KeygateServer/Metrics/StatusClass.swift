/// A status code's class as a label (`2xx` … `5xx`): five values whatever the code.
enum StatusClass {
    static func of(_ status: Int) -> String {
        switch status {
        case ..<200: return "1xx"
        case 200..<300: return "2xx"
        case 300..<400: return "3xx"
        case 400..<500: return "4xx"
        default: return "5xx"
        }
    }
}
