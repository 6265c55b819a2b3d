import KeygateCore

/// The client's OpenAI `tool_choice`, read once; each adapter writes its provider's form of it.
enum ToolChoice {
    case auto, required
    /// `"none"`: the model must not call a tool.
    case noTools
    /// `{"type":"function","function":{"name":…}}`: the model must call this function.
    case function(name: JSONValue)

    /// nil when absent or not one of these (adapters then send no choice).
    init?(_ json: JSONValue?) {
        guard let json else { return nil }
        switch json.stringValue {
        case "auto": self = .auto
        case "required": self = .required
        case "none": self = .noTools
        default:
            guard let name = json["function"]?["name"] else { return nil }
            self = .function(name: name)
        }
    }
}
