public import SlipwaySpool

/// The folders and files of app webhooks in the server's folder (the map: ``RootLayout``'s comment).
///
/// ```
/// <root>/apps/<app>/app-webhooks.json            the app's subscriptions, secrets included (mode 0600)
/// <root>/apps/<app>/app-webhooks.lock            lock file (FileLock) around a change of app-webhooks.json
/// <root>/apps/<app>/app-webhook-deliveries.json  the last deliveries and their outcome (webhooks:deliveries)
/// <root>/app-webhooks/queue/<app>/<webhook>/     deliveries still to make, one file each, in order by name
/// <root>/run/app-webhooks.lock                   lock file (FileLock): one deliverer (receive-pack deliver-webhooks)
/// ```
extension RootLayout {
    /// `<root>/apps/<app>/app-webhooks.json`.
    public func appWebhooks(_ app: String) -> String { "\(buildApps)/\(app)/app-webhooks.json" }
    /// `<root>/apps/<app>/app-webhooks.lock`.
    public func appWebhooksLock(_ app: String) -> String { "\(buildApps)/\(app)/app-webhooks.lock" }
    /// `<root>/apps/<app>/app-webhook-deliveries.json`.
    public func webhookDeliveries(_ app: String) -> String { "\(buildApps)/\(app)/app-webhook-deliveries.json" }
    /// `<root>/app-webhooks/queue`.
    public var webhookQueue: String { "\(path)/app-webhooks/queue" }
    /// `<root>/run/app-webhooks.lock`: held by the one deliverer at work.
    public var webhookDelivererLock: String { "\(run)/app-webhooks.lock" }
}
