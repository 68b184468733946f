import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension BuildOptions {
    /// The runtime store's folder when it is on this machine (`file://` or a path), which the sandbox shows to
    /// buildpacks read-only; nil for a web store or none.
    var localRuntimeStore: String? {
        guard let store = runtimeStore else { return nil }
        if store.hasPrefix("file://") { return String(store.dropFirst("file://".count)) }
        return store.hasPrefix("/") ? store : nil
    }
}

/// How a build reaches the runtime store (docs/languages.md): the store's URL and the shared runtime cache, given to
/// buildpacks as `SLIPWAY_RUNTIME_STORE` and `SLIPWAY_RUNTIME_CACHE` in the paths they see, and the upstreams used
/// without a store (`SLIPWAY_RUNTIME_UPSTREAM_*`) as they are.
enum RuntimeStoreSettings {
    /// Creates the runtime cache if missing and returns it.
    static func prepareCache(_ options: BuildOptions) throws -> String {
        let folder = options.runtimeCacheDirectory ?? BuildOptions.defaultRuntimeCacheDirectory()
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw BuildError(
                .outputUnwritable, "Cannot create the runtime cache \(folder).",
                hint: "Set SLIPWAY_RUNTIME_CACHE (slugc --runtime-cache) to a writable folder.")
        }
        guard access(folder, W_OK) == 0 else {
            throw BuildError(
                .outputUnwritable, "The runtime cache \(folder) is not writable.",
                hint: "Set SLIPWAY_RUNTIME_CACHE (slugc --runtime-cache) to a writable folder.")
        }
        return folder
    }

    /// The variables buildpacks get: the store (a folder as the sandbox shows it), the cache, and the upstreams.
    static func environment(_ options: BuildOptions, plan: BuildSandbox.Plan?) -> [String: String] {
        var environment = options.runtimeUpstreams
        let cache = options.runtimeCacheDirectory ?? BuildOptions.defaultRuntimeCacheDirectory()
        environment["SLIPWAY_RUNTIME_CACHE"] = plan?.insideRuntimes ?? cache
        if let store = options.runtimeStore {
            if options.localRuntimeStore != nil, let inside = plan?.insideRuntimeStore {
                environment["SLIPWAY_RUNTIME_STORE"] = "file://" + inside
            } else if let local = options.localRuntimeStore {
                environment["SLIPWAY_RUNTIME_STORE"] = "file://" + local
            } else {
                environment["SLIPWAY_RUNTIME_STORE"] = store
            }
        }
        return environment
    }
}
