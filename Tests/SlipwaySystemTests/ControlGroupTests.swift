import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

@Suite struct ControlGroupHierarchyTests {
    @Test func legacyGroupsInAContainerAreFoundBelowTheMountsRoot() {
        let mounts = """
            31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
            35 31 0:32 /box /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            38 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
            """
        let groups = """
            8:pids:/
            4:memory:/box/runner
            0::/
            """
        #expect(
            ControlGroup.hierarchy(mountInfo: mounts, groups: groups)
                == .legacy(memory: "/sys/fs/cgroup/memory/runner", pids: "/sys/fs/cgroup/pids"))
    }

    @Test func withoutAMemoryControllerThereIsNoHierarchy() {
        let mounts = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu"
        #expect(ControlGroup.hierarchy(mountInfo: mounts, groups: "1:cpu:/\n0::/") == nil)
    }
}

/// The kernel's limits on a real group (root, cgroup v1 or v2 with the memory controller).
@Suite(.enabled(if: geteuid() == 0 && ControlGroup.current() != nil, "needs root and a memory controller"))
struct ControlGroupLimitTests {
    @Test func aProcessPastItsMemoryIsKilledAloneAndCounted() throws {
        let hierarchy = try #require(ControlGroup.current())
        let group = try ControlGroup.create(
            "slipway-test/\(getpid())-memory", in: hierarchy, memoryBytes: 64 << 20, processes: 64)
        defer { removeWithParent(group) }
        let python = try tool("python3")
        // It waits for a line, so it is in the group before it allocates.
        let hog = try TestProcess(
            ["/bin/sh", "-c", "read line && exec \(python) -c 'a = bytearray(256 << 20); print(len(a))'"], stdin: true)
        try group.add(hog.pid)
        hog.write(Data("go\n".utf8))
        hog.closeStdin()
        #expect(hog.wait(timeout: 60) == 128 + SIGKILL, "\(hog.stdoutText)")
        #expect(group.memoryKills >= 1)
        #expect(!hog.stdoutText.contains("268435456"))
    }

    @Test func processesPastTheLimitCannotStart() throws {
        let hierarchy = try #require(ControlGroup.current())
        guard case .legacy(_, let pids, _) = hierarchy, pids != nil else { return }
        let group = try ControlGroup.create(
            "slipway-test/\(getpid())-pids", in: hierarchy, memoryBytes: 256 << 20, processes: 4)
        defer { removeWithParent(group) }
        let forker = try TestProcess(
            ["/bin/bash", "-c", "read line; for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; wait; echo done"], stdin: true)
        try group.add(forker.pid)
        forker.write(Data("go\n".utf8))
        forker.closeStdin()
        forker.wait(timeout: 60)
        #expect(String(decoding: forker.stderrData, as: UTF8.self).contains("fork"))
    }
}

/// Removes the test's group and, once no other test uses it, the `slipway-test` folder above it.
private func removeWithParent(_ group: ControlGroup) {
    // The last processes of the group may still be exiting.
    _ = waitUntil(seconds: 10) { group.remove() }
    for folder in group.folders { rmdir((folder as NSString).deletingLastPathComponent) }
}
