import Foundation
public import SlipwayDoorRecords
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// Releases made without a build: a config change, or a rollback. Either takes a slug the app already has and
/// publishes it with other config vars, as a new version, through the same ``Publisher`` as a deploy.
///
/// The caller holds the app's build lock (``AppLock``), so these never interleave with a deploy: a build reads the
/// config, and its release is published, with no config change in between.
public struct Releaser {
    /// What a config change did.
    public enum ConfigOutcome: Equatable, Sendable {
        /// The config vars already had those values: nothing was written or released.
        case unchanged
        /// The app has no release yet: the config was stored, for the first push to use.
        case stored
        /// The config was stored and released as this new version.
        case released(LedgerEntry)
    }

    public var root: SlipwayRoot
    /// Who makes the release (recorded in the ledger and the manifest).
    public var user: String

    public init(root: SlipwayRoot, user: String) {
        self.root = root
        self.user = user
    }

    /// Sets the config vars in `set` (in order, a later one winning) and removes those in `unset`, then releases the
    /// current slug with them.
    public func changeConfig(
        _ app: AppPaths, set: [(key: String, value: String)], unset: [String]
    ) throws -> ConfigOutcome {
        let old = try AppConfig.load(app)
        var new = old
        for (key, value) in set { new[key] = value }
        for key in unset { new[key] = nil }
        guard new != old else { return .unchanged }

        guard let current = try ReleaseLedger(path: app.ledger).latest() else {
            try AppConfig.save(new, for: app)
            return .stored
        }
        let named = Self.keys(set: set, unset: unset).joined(separator: ", ")
        let description = "\(set.isEmpty ? "Unset" : "Set") \(named) config vars"
        // The buildpacks' defaults stay under the app's own vars; entries from before they were recorded hold them
        // mixed with the app's, minus the keys the app set.
        let defaults = current.buildpackConfigVars ?? current.configVars.filter { old[$0.key] == nil }
        let manifest = try current.manifest(app: app, configVars: defaults.merging(new) { _, own in own })
        return .released(try publish(manifest, app: app, config: new, replacing: old, description, defaults))
    }

    /// The keys a change names, each once, in the order given.
    static func keys(set: [(key: String, value: String)], unset: [String]) -> [String] {
        var keys: [String] = []
        for key in set.map(\.key) + unset where !keys.contains(key) { keys.append(key) }
        return keys
    }

    /// Releases version `version` (default: the release before the current one) again, as a new version: its slug
    /// and its config vars, which also become the app's config. Returns the release rolled back to and the new one.
    public func rollback(_ app: AppPaths, to version: Int?) throws -> (target: LedgerEntry, release: LedgerEntry) {
        let entries = try ReleaseLedger(path: app.ledger).entries()
        guard let current = entries.last else {
            throw DoorError(.notPossible, "slipway: \(app.name) has no releases yet: git push deploys it first")
        }
        let target: LedgerEntry
        if let version {
            guard let found = entries.first(where: { $0.version == version }) else {
                throw DoorError(
                    .notFound,
                    "slipway: \(app.name) has no release v\(version) (its releases are v\(entries[0].version) to "
                        + "v\(current.version)): releases \(app.name) lists them")
            }
            target = found
        } else {
            guard entries.count >= 2 else {
                throw DoorError(
                    .notPossible,
                    "slipway: \(app.name) has only one release (v\(current.version)): nothing to roll back to")
            }
            target = entries[entries.count - 2]
        }
        let manifest = try target.manifest(app: app, configVars: target.configVars)
        let release = try publish(
            manifest, app: app, config: target.appConfigVars, replacing: try AppConfig.load(app),
            "Rollback to v\(target.version)", target.buildpackConfigVars)
        return (target, release)
    }

    /// Stores `config` as the app's config and publishes `manifest`; if publishing fails, `old` is put back, so the
    /// stored config always matches the latest release.
    private func publish(
        _ manifest: ReleaseManifest, app: AppPaths, config: [String: String], replacing old: [String: String],
        _ description: String, _ defaults: [String: String]?
    ) throws -> LedgerEntry {
        try AppConfig.save(config, for: app)
        do {
            return try Publisher(root: root).publish(
                app: app, manifest: manifest, description: description, user: user, buildpackConfigVars: defaults)
        } catch {
            try? AppConfig.save(old, for: app)
            throw error
        }
    }
}

extension LedgerEntry {
    /// The config vars the app itself set for this release: ``configVars`` without the buildpacks' defaults (a key
    /// the app set to the default's very value reads as the default).
    public var appConfigVars: [String: String] {
        guard let defaults = buildpackConfigVars else { return configVars }
        return configVars.filter { defaults[$0.key] != $0.value }
    }

    /// The path of this release's slug in `app`'s store.
    func slugPath(_ app: AppPaths) -> String { "\(app.slugs)/\(slugSHA256).tgz" }

    /// A manifest for releasing this entry's slug again with `configVars`. Throws when the slug is gone.
    func manifest(app: AppPaths, configVars: [String: String]) throws -> ReleaseManifest {
        var info = stat()
        guard stat(slugPath(app), &info) == 0 else {
            throw DoorError(
                .notPossible,
                "slipway: the slug of v\(version) of \(app.name) is gone (\(slugSHA256.prefix(12)) is not in "
                    + "\(app.slugs)), so it cannot be released again: push to build a new one")
        }
        return ReleaseManifest(
            app: app.name, stack: stack ?? ReleaseManifest.defaultStack, sourceVersion: sourceVersion,
            buildpacks: buildpacks,
            processTypes: processTypes, configVars: configVars, addons: addons ?? [],
            slug: .init(path: "slug.tgz", size: Int64(info.st_size), sha256: slugSHA256),
            createdAt: BuildRecord.isoNow(), timings: [:])
    }
}
