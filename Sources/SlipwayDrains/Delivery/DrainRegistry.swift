import Foundation
public import SlipwaySpool

/// Every app's drains on a runner: each app's own (its `dynos.json`) and the operator's (`slugrunner watch --drain`,
/// for every app). An app's drains start when its log is first opened, so that none of its lines is missed, and
/// change when the door changes its `dynos.json`. Thread-safe.
public final class DrainRegistry: @unchecked Sendable {
    public let settings: DrainSettings
    /// The operator's drains' URLs, normalized.
    public let operatorURLs: [String]
    let layout: RootLayout
    private let lock = NSLock()
    private var apps: [String: AppDrains] = [:]

    /// `operatorURLs` are the operator's drains (checked by the command line: one that does not parse is left out).
    public init(layout: RootLayout, settings: DrainSettings, operatorURLs: [String]) {
        self.layout = layout
        self.settings = settings
        self.operatorURLs = operatorURLs.compactMap { try? LogDrainURL.parse($0).normalized }
    }

    /// The drains of `app` if its log is open (``drains(for:report:)`` was called), nil otherwise.
    public func opened(_ app: String) -> AppDrains? { lock.withLock { apps[app] } }

    /// The drains of `app`, started with those its `dynos.json` lists (read now) and the operator's. `report` is
    /// told what each drain has to say, on the drain's thread.
    public func drains(
        for app: String, report: @escaping @Sendable (LogDrain, DrainEvent) -> Void
    ) -> AppDrains {
        lock.lock()
        defer { lock.unlock() }
        if let drains = apps[app] { return drains }
        let drains = AppDrains(app: app, settings: settings, report: report)
        apps[app] = drains
        let own = (try? DynoSettings.load(from: layout.dynoSettings(app)))?.logDrains ?? []
        drains.update(wanted(app, own))
        return drains
    }

    /// Sets the drains `app`'s `dynos.json` lists now (the operator's are kept); an app whose log is not open yet
    /// gets them when it is. Returns the refusals of drains that could not start.
    @discardableResult
    public func update(app: String, own: [LogDrain]) -> [String] {
        guard let drains = lock.withLock({ apps[app] }) else { return [] }
        return drains.update(wanted(app, own))
    }

    /// Stops every drain, giving them up to `flush` together to send what they hold.
    public func stopAll(flush: Duration = .seconds(2)) {
        let all = lock.withLock { Array(apps.values) }
        for drains in all { drains.stop(flush: flush) }
        let deadline = Date().addingTimeInterval(Double(flush.components.seconds))
        for drains in all { drains.waitUntilStopped(deadline: deadline) }
    }

    private func wanted(_ app: String, _ own: [LogDrain]) -> [LogDrain] {
        var drains = own
        for url in operatorURLs where !drains.contains(where: { $0.url == url }) {
            drains.append(AppDrains.operatorDrain(url, app: app))
        }
        return drains
    }
}
