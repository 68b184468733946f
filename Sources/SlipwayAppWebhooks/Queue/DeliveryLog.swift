import Foundation
public import SlipwaySpool
import SlipwaySystem

/// The last deliveries of an app and what became of them: `<root>/apps/<app>/webhook-deliveries.json`, written by
/// the deliverer only (one at a time, under its lock), read by `webhooks:deliveries`.
public struct DeliveryLog: Sendable {
    /// How many records are kept per app.
    public static let kept = 100

    public let layout: RootLayout
    public let app: String

    public init(layout: RootLayout, app: String) {
        self.layout = layout
        self.app = app
    }

    /// The records, oldest first.
    public func records() -> [DeliveryRecord] {
        guard let data = (try? FileSystem.read(layout.webhookDeliveries(app))).flatMap({ $0 }) else { return [] }
        return (try? JSONDecoder().decode([DeliveryRecord].self, from: data)) ?? []
    }

    /// Records `record`, replacing the earlier record of the same delivery.
    public func note(_ record: DeliveryRecord) {
        var records = records().filter { $0.id != record.id }
        records.append(record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(Array(records.suffix(Self.kept))) else { return }
        try? DurableFile.replace(layout.webhookDeliveries(app), with: data, mode: 0o600)
    }

    /// What `webhooks:deliveries <app>` prints: the last `limit` deliveries, newest first (queued ones included):
    /// id, event, outcome, attempts, time.
    public static func listing(records: [DeliveryRecord], queued: [QueuedDelivery], app: String, limit: Int = 20)
        -> [String]
    {
        let known = Set(records.map(\.id))
        let waiting = queued.filter { !known.contains($0.id) }.map { DeliveryRecord($0, status: .pending) }
        let all = (records + waiting).sorted { $0.createdAt > $1.createdAt }.prefix(limit)
        guard !all.isEmpty else { return ["\(app) has no webhook deliveries yet"] }
        let rows = all.map { record -> [String] in
            var outcome = record.status.rawValue
            if let code = record.code { outcome += " (\(code))" }
            if let error = record.error { outcome += " (\(error))" }
            if let next = record.nextAttemptAt, record.status == .retrying { outcome += ", next try \(next)" }
            let tries = record.attempts == 1 ? "1 attempt" : "\(record.attempts) attempts"
            return [
                String(record.id.prefix(8)), record.event, tries, record.lastAttemptAt ?? record.createdAt, outcome,
            ]
        }
        return ["=== \(app) webhook deliveries (newest first)"] + alignedRows(rows)
    }
}
