import Foundation
import Mustache

/// The dashboard's mustache templates and stylesheet, read once at start-up from the module's resources.
/// Every template a route renders is listed in `required` and checked here: a missing or broken one stops
/// start-up with its name, instead of a blank page later (`MustacheLibrary(directory:)` alone would quietly
/// give an empty library for a missing folder).
public struct DashboardTemplates: Sendable {
    public static let required = [
        "partials/head", "partials/foot", "login", "billing", "settings", "lab", "confirm", "not-found", "forbidden",
    ]
    let library: MustacheLibrary
    /// `static/dashboard.css`, served at `/static/dashboard.css`.
    let stylesheet: String
    /// `static/dashboard.js`, served at `/static/dashboard.js`: the pages' only script (no inline script, so
    /// the strict Content-Security-Policy holds).
    let script: String

    /// `resources` defaults to the module's bundle (`templates/` and `static/` inside it).
    public init(resources: String? = nil) throws {
        guard let root = resources ?? Bundle.module.resourcePath else {
            throw DashboardStartupError("the dashboard's resources are missing (no KeygateDashboard resource bundle beside the binary)")
        }
        var templates: [String: MustacheTemplate] = [:]
        for name in Self.required {
            let path = "\(root)/templates/\(name).mustache"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw DashboardStartupError("the dashboard template \(name) is missing: \(path)")
            }
            do {
                templates[name] = try MustacheTemplate(string: text)
            } catch {
                throw DashboardStartupError("the dashboard template \(name) does not parse: \(error)")
            }
        }
        library = MustacheLibrary(templates: templates)
        guard let css = try? String(contentsOfFile: "\(root)/static/dashboard.css", encoding: .utf8) else {
            throw DashboardStartupError("the dashboard stylesheet is missing: \(root)/static/dashboard.css")
        }
        stylesheet = css
        guard let js = try? String(contentsOfFile: "\(root)/static/dashboard.js", encoding: .utf8) else {
            throw DashboardStartupError("the dashboard script is missing: \(root)/static/dashboard.js")
        }
        script = js
    }

    /// Every name passed here is in `required`, so it was checked at start-up.
    func render(_ name: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: name) ?? ""
    }
}
