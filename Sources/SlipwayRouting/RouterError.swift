/// The router's own error codes, Heroku's where it has one (https://devcenter.heroku.com/articles/error-codes): the
/// code and its words appear on the error page the client gets and in the app's `router` log line.
public enum RouterErrorCode: String, Sendable, CaseIterable {
    /// The app did not start its response within the router's timeout (Heroku: 30 s).
    case requestTimeout = "H12"
    /// The dyno closed the connection, or could not be reached, before it answered.
    case connectionClosed = "H13"
    /// The app has no web dyno that is up.
    case noWebProcesses = "H14"
    /// The client went away before the response was sent.
    case clientInterrupted = "H27"

    /// Heroku's description of the code.
    public var words: String {
        switch self {
        case .requestTimeout: "Request timeout"
        case .connectionClosed: "Connection closed without response"
        case .noWebProcesses: "No web processes running"
        case .clientInterrupted: "Client Request Interrupted"
        }
    }

    /// The status the client gets (499 is only logged: nobody is left to read it).
    public var status: Int { self == .clientInterrupted ? 499 : 503 }
}

/// The HTML pages the router answers with when an app cannot. Inline styles only: a static response's body goes
/// through Caddy's placeholder replacement, where a CSS block's braces could be taken for placeholders.
enum ErrorPages {
    /// The page of an app error (H12, H13, H14).
    static func application(_ code: RouterErrorCode) -> String {
        page(
            title: "Application Error",
            heading: "Application error",
            text: "An error occurred in the application and your page could not be served. If you are the application"
                + " owner, check your logs for details.",
            detail: "\(code.rawValue) \(code.words)")
    }

    /// The page for a host name no app answers at.
    static let noSuchApp = page(
        title: "No such app", heading: "There's nothing here, yet.",
        text: "No app answers at this address. If you own the app, check its name and its domains (domains:add).",
        detail: "No such app")

    private static func page(title: String, heading: String, text: String, detail: String) -> String {
        """
        <!DOCTYPE html>
        <html>
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
        <title>\(title)</title></head>
        <body style="margin:0;font-family:-apple-system,Helvetica,Arial,sans-serif;background:#f7f8fb;color:#3f3f44">
        <div style="max-width:560px;margin:15vh auto;padding:0 24px">
        <h1 style="font-weight:400;font-size:28px">\(heading)</h1>
        <p style="line-height:1.5">\(text)</p>
        <p style="color:#79589f"><code>\(detail)</code></p>
        </div>
        </body>
        </html>

        """
    }
}
