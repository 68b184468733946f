import Foundation
public import SlipwaySpool
import SlipwaySystem

/// An app's webhooks, in `<root>/apps/<app>/webhooks.json` (mode 0600: it holds the secrets), changed under
/// `webhooks.lock` and replaced whole (``DurableFile``).
public struct AppWebhooks: Sendable {
    /// The most webhooks one app may have.
    public static let maximum = 10

    public let layout: RootLayout
    public let app: String

    public init(layout: RootLayout, app: String) {
        self.layout = layout
        self.app = app
    }

    /// The app's webhooks, oldest first (none when the file is missing).
    public func load() throws(WebhookError) -> [AppWebhook] {
        let path = layout.appWebhooks(app)
        let data: Data?
        do { data = try FileSystem.read(path) } catch { throw WebhookError("cannot read \(app)'s webhooks") }
        guard let data else { return [] }
        do { return try JSONDecoder().decode([AppWebhook].self, from: data) } catch {
            throw WebhookError("\(app)'s webhooks file is damaged; tell the server's operator")
        }
    }

    /// Adds a webhook to `url` for `include`, signed with `secret` (made when nil). Refuses a URL the app has already.
    /// Unless `allowPrivate`, refuses a receiver on this server or its private networks by its spelling.
    public func add(
        url: String, include: [WebhookEntity], secret: String?, allowPrivate: Bool = false
    ) throws(WebhookError) -> AppWebhook {
        let url = try AppWebhook.checkedURL(url)
        if !allowPrivate, let host = URLComponents(string: url)?.host, ReceiverAddress.isPrivateLiteral(host) {
            throw WebhookError(
                "webhooks may not go to this server or its private network (\(host)); the server's operator can allow "
                    + "it (SLIPWAY_WEBHOOK_ALLOW_PRIVATE=1)")
        }
        let secret = try secret.map { (given) throws(WebhookError) in try AppWebhook.checkedSecret(given) }
        let hook = AppWebhook(
            id: UUID().uuidString.lowercased(), url: url, include: include,
            secret: secret ?? AppWebhook.generatedSecret(), createdAt: isoTimestamp())
        try change { hooks throws(WebhookError) in
            if hooks.contains(where: { $0.url == url }) {
                throw WebhookError("\(app) has a webhook to this URL already (webhooks:remove \(app) <id> first)")
            }
            guard hooks.count < Self.maximum else {
                throw WebhookError("\(app) has \(Self.maximum) webhooks, the most an app may have; remove one")
            }
            hooks.append(hook)
        }
        return hook
    }

    /// Removes the webhook with this id (or its first characters, 8 at least) or URL; returns it.
    public func remove(_ idOrURL: String) throws(WebhookError) -> AppWebhook {
        var removed: AppWebhook?
        try change { hooks throws(WebhookError) in
            let matches = hooks.filter {
                $0.url == idOrURL || $0.id == idOrURL || (idOrURL.count >= 8 && $0.id.hasPrefix(idOrURL))
            }
            guard matches.count == 1, let match = matches.first else {
                throw WebhookError(
                    "\(app) has no webhook \(TerminalText.printable(idOrURL, limit: 200)) (webhooks \(app) lists them)")
            }
            hooks.removeAll { $0.id == match.id }
            removed = match
        }
        guard let removed else { throw WebhookError("\(app)'s webhooks did not change") }
        return removed
    }

    private func change(_ body: (inout [AppWebhook]) throws(WebhookError) -> Void) throws(WebhookError) {
        let lock: HeldLock
        do { lock = try HeldLock(layout.appWebhooksLock(app)) } catch {
            throw WebhookError("cannot change \(app)'s webhooks now (the server's folder is not writable)")
        }
        try withExtendedLifetime(lock) { () throws(WebhookError) in
            var hooks = try load()
            try body(&hooks)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            do {
                try DurableFile.replace(layout.appWebhooks(app), with: try encoder.encode(hooks), mode: 0o600)
            } catch {
                throw WebhookError("cannot save \(app)'s webhooks (the server's disk may be full)")
            }
        }
    }

    /// What `webhooks <app>` prints: a header, then id, URL and events, one webhook a line.
    public static func listing(_ hooks: [AppWebhook], app: String) -> [String] {
        guard !hooks.isEmpty else { return ["\(app) has no webhooks (webhooks:add \(app) <url> adds one)"] }
        return ["=== \(app) webhooks"]
            + alignedRows(hooks.map { [$0.id, $0.url, $0.include.map(\.rawValue).joined(separator: ",")] })
    }
}

/// Now, ISO 8601 in UTC with milliseconds.
func isoTimestamp(_ date: Date = Date()) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: date)
}

/// Columns padded to their widest cell, two spaces apart (the last one unpadded).
func alignedRows(_ rows: [[String]]) -> [String] {
    guard let count = rows.map(\.count).max() else { return [] }
    var widths = [Int](repeating: 0, count: count)
    for row in rows {
        for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
    }
    return rows.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
}
