import Foundation
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// inotify through the system layer: a file renamed into a watched folder (how the spool and `dynos.json` are
/// written) makes the descriptor readable; nothing else does.
@Suite struct FolderWatchTests {
    @Test func aFileRenamedIntoAWatchedFolderWakesThePoller() throws {
        let scratch = try ScratchDirectory("folder-watch")
        let watched = try scratch.makeDirectory("watched")
        let other = try scratch.makeDirectory("other")
        let folders = try FolderWatch()
        #expect(folders.watch(watched))
        #expect(folders.watch(watched), "watching twice is harmless")
        #expect(!folders.watch(scratch.url("missing")))
        #expect(!folders.drain(), "nothing happened yet")

        _ = try scratch.write("other/file", "x")
        #expect(!Self.readable(folders.fd, milliseconds: 100), "a folder not watched says nothing")

        _ = try scratch.write("other/entry.tmp", "release")
        #expect(rename("\(other)/entry.tmp", "\(watched)/entry") == 0)
        #expect(Self.readable(folders.fd, milliseconds: 5000))
        #expect(folders.drain())
        #expect(!folders.drain(), "drained")
    }

    static func readable(_ fd: Int32, milliseconds: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, milliseconds) == 1
    }
}
