public import Foundation

/// One line of an app's log as a drain sends it: when, from what (`app`, `slugrunner`), which dyno or component
/// (`web.1`, `router`, `deploy`) and the text. The runner makes one from each line its app log writes.
public struct DrainLine: Equatable, Sendable {
    public var date: Date
    /// `app` (what the dynos print) or `slugrunner` (the runner's events, the router's lines).
    public var source: String
    /// The dyno (`web.1`, `release.1`) or the runner's component (`router`, `deploy`).
    public var component: String
    /// The text, without a newline.
    public var text: String

    public init(date: Date, source: String, component: String, text: String) {
        self.date = date
        self.source = source
        self.component = component
        self.text = text
    }
}
