#if canImport(Glibc)
    import Glibc
#endif

/// The size of the terminal on a descriptor, if it is one (`TIOCGWINSZ`).
public struct TerminalSize: Equatable, Sendable {
    public var columns: Int
    public var lines: Int

    /// The size of the terminal `fd` refers to; nil when it is not a terminal or reports no size.
    public init?(of fd: Int32) {
        guard isatty(fd) == 1 else { return nil }
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        columns = Int(size.ws_col)
        lines = Int(size.ws_row)
    }
}
