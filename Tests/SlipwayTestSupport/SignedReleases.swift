public import Foundation
public import SlipwaySpool

/// The manifest of a signed `release.json` from the spool of `root` (a folder entry's or a bucket object's), opened
/// as a runner on that root opens it: the door's signature checked, the config vars unsealed.
public func openRelease(_ data: Data, root: String) throws -> ReleaseManifest {
    try SignedRelease.open(data, with: try RunnerReleaseKey.load(file: nil, root: RootLayout(root)))
}

/// The manifest of the signed `release.json` at `path` in the spool of `root`, opened as ``openRelease(_:root:)``.
public func openRelease(atPath path: String, root: String) throws -> ReleaseManifest {
    try openRelease(try Data(contentsOf: URL(fileURLWithPath: path)), root: root)
}
