import Foundation

/// A temporary directory for one test, removed when the value is released.
public final class ScratchDirectory: Sendable {
    /// The directory's absolute path (symlinks resolved, so it compares equal to what tools print).
    public let path: String

    /// Creates a fresh, empty directory under the system's temporary directory.
    public init(_ label: String = "test") throws {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("slipway-\(label)-XXXXXX")
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let raw = String(cString: made)
        path =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: raw))
            ?? URL(fileURLWithPath: raw).resolvingSymlinksInPath().path
    }

    deinit {
        // Test fixtures may leave read-only folders behind; make them writable so removal succeeds.
        _ = try? runTool(["/bin/chmod", "-R", "u+rwx", path], timeout: 30)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The absolute path of `relative` inside this directory.
    public func url(_ relative: String) -> String {
        (path as NSString).appendingPathComponent(relative)
    }

    /// Writes `contents` to `relative`, creating parent folders, and sets `mode`.
    @discardableResult
    public func write(_ relative: String, _ contents: String, mode: Int = 0o644) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(
            atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        return full
    }

    /// Creates the folder `relative` (and its parents).
    @discardableResult
    public func makeDirectory(_ relative: String) throws -> String {
        let full = url(relative)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }

    /// Reads `relative` as UTF-8 text.
    public func read(_ relative: String) throws -> String {
        try String(contentsOfFile: url(relative), encoding: .utf8)
    }

    /// Whether anything (a file, folder or symlink, dangling or not) exists at `relative`.
    public func exists(_ relative: String) -> Bool {
        var st = stat()
        return lstat(url(relative), &st) == 0
    }
}
