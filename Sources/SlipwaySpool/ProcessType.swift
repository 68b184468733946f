/// Process type names, as the Procfile allows them: `[A-Za-z0-9_-]+` (at most 63 characters here, since they
/// become dyno names and log labels).
public enum ProcessType {
    /// The web process type: gets a port the runner waits on before a release takes over.
    public static let web = "web"
    /// Heroku's release phase: runs once before a new release starts.
    public static let release = "release"

    /// Whether `name` is a valid process type name: `[A-Za-z0-9_-]`, 1 to 63 characters.
    public static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63
            && name.utf8.allSatisfy {
                (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d
                    || $0 == 0x5f
            }
    }

    /// Processes and threads a dyno may have at once, by its memory, as Heroku's dyno sizes: 256 up to 512 MB
    /// (Standard-1X), 512 up to 1 GB (Standard-2X), 16384 above (Performance). Both engines hold dynos to it.
    public static func processLimit(memoryMB: Int) -> Int {
        memoryMB <= 512 ? 256 : memoryMB <= 1024 ? 512 : 16384
    }
}
