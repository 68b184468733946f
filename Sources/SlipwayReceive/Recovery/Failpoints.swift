import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Named places where a push can be made to die on purpose, for the fault-injection tests: with
/// `SLIPWAY_FAILPOINTS=before-publish:0.3,after-ledger:0.3`, the process kills itself with SIGKILL at each named point
/// with that probability. Unset (always, outside tests), nothing happens. The points sit in the windows a crash
/// could otherwise exploit: between git's ref update and the release, and between the ledger line and the spool.
///
/// Compiled only into debug builds, which the tests use (`SLIPWAY_FAILPOINTS` is defined for them in
/// Package.swift): in a release build `trigger` does nothing and the variable is not passed on to the hooks.
enum Failpoint: String, CaseIterable {
    /// pre-receive, after the build was staged, before git updates the ref.
    case afterStaging = "after-staging"
    /// post-receive, after git updated the ref, before the release is published.
    case beforePublish = "before-publish"
    /// Publishing, after the ledger line, before the spool entry is renamed into `new/`.
    case afterLedger = "after-ledger"
    /// Publishing to a bucket, when the slug is about to be uploaded (the tests check that a rollback never gets here).
    case beforeSlugUpload = "before-slug-upload"

    /// Dies here when `SLIPWAY_FAILPOINTS` names this point and the dice say so.
    func trigger(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        #if SLIPWAY_FAILPOINTS
            guard let spec = environment["SLIPWAY_FAILPOINTS"], !spec.isEmpty else { return }
            for item in spec.split(separator: ",") {
                let parts = item.split(separator: ":", maxSplits: 1)
                guard parts.first.map(String.init) == rawValue else { continue }
                let probability = parts.count > 1 ? Double(parts[1]) ?? 1 : 1
                if Double.random(in: 0..<1) < probability { kill(getpid(), SIGKILL) }
            }
        #endif
    }

    /// The variable the door passes on to the hooks: only where failpoints are compiled in.
    static var passedVariables: [String] {
        #if SLIPWAY_FAILPOINTS
            ["SLIPWAY_FAILPOINTS"]
        #else
            []
        #endif
    }
}
