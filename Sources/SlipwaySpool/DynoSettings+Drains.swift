/// Adding and removing an app's drains (`drains:add`, `drains:remove`), pure changes of its settings.
extension DynoSettings {
    /// The most drains one app may have: each one is a connection and a buffer on the runner.
    public static let maximumDrains = 10

    /// Adds a drain for `url` with a new token; nil when the app has it already. Throws when the app has
    /// ``maximumDrains`` already.
    public mutating func addDrain(_ url: LogDrainURL) throws(LogDrainURL.Refusal) -> LogDrain? {
        var list = logDrains
        guard !list.contains(where: { $0.url == url.normalized }) else { return nil }
        guard list.count < Self.maximumDrains else {
            throw LogDrainURL.Refusal(description: "an app has \(Self.maximumDrains) drains at most; remove one")
        }
        let drain = LogDrain(url: url.normalized, token: LogDrain.newToken())
        list.append(drain)
        drains = list
        return drain
    }

    /// Removes the drain whose token is `word`, or whose URL is `word` (normalized); nil when there is none.
    public mutating func removeDrain(_ word: String) -> LogDrain? {
        let normalized = (try? LogDrainURL.parse(word))?.normalized
        var list = logDrains
        guard let index = list.firstIndex(where: { $0.token == word || $0.url == normalized }) else { return nil }
        let removed = list.remove(at: index)
        drains = list.isEmpty ? nil : list
        return removed
    }
}
