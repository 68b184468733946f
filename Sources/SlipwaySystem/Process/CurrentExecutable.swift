public import Foundation

extension ProcessInfo {
    /// The absolute path of the running executable (`/proc/self/exe`), for programs that run steps of themselves
    /// (`slugrunner dyno-disk`, the push hooks) or find files installed beside them (the built-in buildpacks).
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
