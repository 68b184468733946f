import Foundation
public import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The deliveries still to make, one file per delivery under `<root>/webhooks/queue/<app>/<webhook>/`, named so that
/// their order by name is the order of the events (a nanosecond clock, kept rising within the folder). Written whole
/// (``DurableFile``): a crash leaves a delivery or none, never half of one.
public struct DeliveryQueue: Sendable {
    public let layout: RootLayout

    public init(layout: RootLayout) { self.layout = layout }

    /// One queued delivery and its file.
    public struct Entry: Sendable {
        public var path: String
        public var delivery: QueuedDelivery
    }

    func folder(app: String, webhook: String) -> String { "\(layout.webhookQueue)/\(app)/\(webhook)" }

    /// Queues `delivery` after every delivery queued for its webhook.
    public func enqueue(_ delivery: QueuedDelivery) throws {
        let folder = folder(app: delivery.app, webhook: delivery.webhookID)
        let data = try JSONEncoder().encode(delivery)
        // Twice: the deliverer removes a webhook's folder once it is empty, maybe right after it was made here.
        for attempt in 1...2 {
            do {
                try FileSystem.makeFolders(folder, mode: 0o700)
                var sequence = UInt64(Date().timeIntervalSince1970 * 1e9)
                if let last = Self.names(folder).last, let previous = UInt64(last.prefix(20)), previous >= sequence {
                    sequence = previous + 1
                }
                let name = String(repeating: "0", count: max(0, 20 - String(sequence).count)) + "\(sequence)"
                try DurableFile.replace("\(folder)/\(name)-\(delivery.id).json", with: data, mode: 0o600)
                return
            } catch  where attempt == 1 {
                continue
            }
        }
    }

    /// The first delivery of each webhook's queue: the ones that may be tried now or later.
    public func heads() -> [Entry] {
        var heads: [Entry] = []
        for app in Self.folders(layout.webhookQueue) {
            for webhook in Self.folders("\(layout.webhookQueue)/\(app)") {
                let folder = folder(app: app, webhook: webhook)
                for name in Self.names(folder) {
                    let path = "\(folder)/\(name)"
                    guard let data = try? FileSystem.read(path),
                        let delivery = try? JSONDecoder().decode(QueuedDelivery.self, from: data)
                    else {
                        unlink(path)  // not a delivery: nothing can send it
                        continue
                    }
                    heads.append(Entry(path: path, delivery: delivery))
                    break
                }
            }
        }
        return heads
    }

    /// The deliveries queued for `app`, in order.
    public func pending(app: String) -> [QueuedDelivery] {
        Self.folders("\(layout.webhookQueue)/\(app)").flatMap { webhook in
            let folder = folder(app: app, webhook: webhook)
            return Self.names(folder).compactMap { name in
                (try? FileSystem.read("\(folder)/\(name)")).flatMap { $0 }.flatMap {
                    try? JSONDecoder().decode(QueuedDelivery.self, from: $0)
                }
            }
        }
    }

    /// Whether nothing is queued.
    public var isEmpty: Bool { heads().isEmpty }

    /// Writes `entry` back after an attempt.
    public func update(_ entry: Entry) throws {
        try DurableFile.replace(entry.path, with: try JSONEncoder().encode(entry.delivery), mode: 0o600)
    }

    /// Removes a delivery that is done (delivered, or given up), and its folders once empty.
    public func remove(_ entry: Entry) {
        unlink(entry.path)
        let webhookFolder = (entry.path as NSString).deletingLastPathComponent
        if rmdir(webhookFolder) == 0 { rmdir((webhookFolder as NSString).deletingLastPathComponent) }
    }

    /// Removes every delivery queued for a webhook that was removed.
    public func drop(app: String, webhook: String) {
        try? FileSystem.removeTree(folder(app: app, webhook: webhook))
        rmdir("\(layout.webhookQueue)/\(app)")
    }

    /// The delivery files of a folder, sorted (temporary files of a write in progress left out).
    static func names(_ folder: String) -> [String] {
        ((try? FileSystem.names(in: folder)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    /// The subfolders of a folder, sorted.
    static func folders(_ folder: String) -> [String] {
        ((try? FileSystem.names(in: folder)) ?? []).filter { !$0.hasPrefix(".") && !$0.contains(".tmp-") }.sorted()
    }
}
