import Foundation

/// An app's config vars, stored as a JSON object in `<app>/config.json` (mode 0600).
public enum AppConfig {
    /// The app's config vars; empty when none were set.
    public static func load(_ app: AppPaths) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: app.config) else { return [:] }
        do {
            return try JSONDecoder().decode([String: String].self, from: data)
        } catch {
            throw DoorError(
                .configuration, lines: "The config of \(app.name) (\(app.config)) is not valid JSON: \(error)")
        }
    }

    /// Replaces the app's config vars atomically, readable by the server's user only.
    public static func save(_ vars: [String: String], for app: AppPaths) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try StateFiles.writeAtomically(try encoder.encode(vars), to: app.config, mode: 0o600)
    }
}
