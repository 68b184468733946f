import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Buildpacks are untrusted code: each runs confined (bubblewrap, an unprivileged user when slugc runs as root,
/// resource limits), and what it prints is sanitised and capped. The tests run as root on CI, where all of it applies.
@Suite struct SandboxTests {
    static let isRoot = geteuid() == 0
    static let hasBubblewrap = access("/usr/bin/bwrap", X_OK) == 0

    @Test(.enabled(if: isRoot && hasBubblewrap))
    func buildpackRunsConfinedAsAnUnprivilegedUser() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let secret = try h.scratch.write("secret.txt", "top secret", mode: 0o644)
        let spy = try SpyBuildpack(
            in: h.scratch, name: "probe",
            compile: """
                echo "user: $(id -un)"
                echo "dirs: $1 $2 $3 $HOME $TMPDIR"
                touch "$1/built" "$2/cached" "$HOME/home" "$TMPDIR/tmp" && echo "writes its own folders"
                touch /usr/evil 2>/dev/null && echo "WROTE /usr" || echo "cannot write /usr"
                cat '\(secret)' 2>/dev/null || echo "cannot see the server's files"
                echo "pid1: $(cat /proc/1/comm)"
                echo "file limit: $(ulimit -f) cpu limit: $(ulimit -t) processes: $(ulimit -u)"
                sudo -n true 2>/dev/null && echo "ROOT AGAIN" || echo "no privileges"
                """)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("user: nobody"))
        #expect(result.output.contains("dirs: /tmp/build /tmp/cache /tmp/env /tmp/home /tmp/tmp"))
        #expect(result.output.contains("writes its own folders"))
        #expect(result.output.contains("cannot write /usr"))
        #expect(result.output.contains("cannot see the server's files"))
        #expect(!result.output.contains("top secret"))
        #expect(
            result.output.contains("pid1: bwrap") || result.output.contains("pid1: setpriv"), "its own PID namespace")
        #expect(result.output.contains("file limit: 4194304 cpu limit: 900 processes: 1024"), "\(result.output)")
        #expect(result.output.contains("no privileges"))
        #expect(!FileManager.default.fileExists(atPath: "/usr/evil"))
        #expect(try h.slugEntries().contains("./app/built"))
    }

    @Test(.enabled(if: isRoot && hasBubblewrap))
    func aDaemonDoesNotOutliveItsBuild() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let marker = uniqueSleep()
        let spy = try SpyBuildpack(
            in: h.scratch, name: "daemon",
            compile: """
                ( setsid nohup sleep \(marker) >/dev/null 2>&1 & ) &
                echo "started a daemon"
                """)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("started a daemon"))
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the daemon was stopped with its build")
    }

    /// Without bubblewrap (`--sandbox none`), a daemon that leaves the buildpack's process group is still stopped:
    /// slugc adopts orphans and kills them when the phase ends.
    @Test func aDaemonDoesNotOutliveItsBuildWithoutTheSandbox() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let marker = uniqueSleep()
        let spy = try SpyBuildpack(
            in: h.scratch, name: "daemon", compile: "( setsid nohup sleep \(marker) >/dev/null 2>&1 & ) &\necho started"
        )
        let result = try h.build(["-b", spy.path, "--sandbox", "none"], env: ["SLIPWAY_BUILD_USER": ""])
        #expect(result.status == 0, "\(result.output)")
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the daemon was stopped with its build")
    }

    @Test func escapeSequencesCannotDriveTheTerminal() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "noisy",
            compile: #"""
                printf 'before\033]0;pwned title\007after\n'
                printf '\033[2Jcleared \033[31mred\033[0m \033[10;10Hmoved\n'
                printf 'bell\007 backspace\b and \033c reset\n'
                printf 'progress 10%%\rprogress 100%%\n'
                """#)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("beforeafter"))
        #expect(result.output.contains("cleared \u{1B}[31mred\u{1B}[0m moved"), "colours pass, the rest goes")
        #expect(result.output.contains("bell backspace and  reset"))
        #expect(result.output.contains("progress 100%") && !result.output.contains("progress 10%"))
        #expect(
            !result.output.contains("\u{1B}]") && !result.output.contains("\u{1B}[2J")
                && !result.output.contains("\u{07}"))
    }

    @Test func aFloodOfOutputIsCapped() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "flood",
            compile:
                "yes 0123456789012345678901234567890123456789012345678901234567890123456789 | head -c 8000000 || true\necho 'the end'"
        )
        let result = try h.build(["-b", spy.path], env: ["SLIPWAY_OUTPUT_LIMIT_MB": "1"])
        #expect(result.status == 0, "the build goes on")
        #expect(result.output.contains("printed more than 1 MB; the rest of its output is not shown"))
        #expect(result.output.utf8.count < 1_200_000, "output: \(result.output.utf8.count) bytes")
        #expect(!result.output.contains("the end"))
    }

    @Test func aNearlyFullDiskStopsTheBuild() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "slow", compile: "echo filling; sleep 30")
        // Ask for more free space than any disk has: the first check stops the build.
        let result = try h.build(["-b", spy.path], env: ["SLIPWAY_MIN_FREE_MB": "1000000000"], timeout: 60)
        #expect(result.status == 52, "\(result.output)")
        #expect(result.output.contains("MB free"))
        #expect(h.outputIsEmpty && h.workspaceRemoved)
    }

    @Test func aBadSandboxSettingIsAClearError() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let result = try h.build(
            ["-b", try SpyBuildpack(in: h.scratch, name: "spy").path], env: ["SLIPWAY_SANDBOX": "jail"])
        #expect(result.status == 11)
        #expect(result.output.contains("SLIPWAY_SANDBOX is 'jail'"))
    }
}

/// What a buildpack leaves in the build folder that a slug must not carry.
@Suite struct SlugContentTests {
    /// A buildpack sets setuid, setgid and sticky bits: the slug keeps the permission bits only.
    @Test func setuidSetgidAndStickyBitsAreStripped() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "modes",
            compile: #"""
                printf '#!/bin/sh\n' > "$1/tool"; chmod 4755 "$1/tool"
                printf 'x' > "$1/group"; chmod 2750 "$1/group"
                mkdir "$1/shared"; chmod 1777 "$1/shared"
                """#)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        let listing = try runTool(["/bin/tar", "tvzf", "\(h.output)/slug.tgz"]).stdout
        let modes = Dictionary(
            listing.split(separator: "\n").compactMap { line -> (String, String)? in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard let mode = fields.first, let name = fields.last else { return nil }
                return (String(name), String(mode))
            }, uniquingKeysWith: { a, _ in a })
        #expect(modes["./app/tool"] == "-rwxr-xr-x", "\(listing)")
        #expect(modes["./app/group"] == "-rwxr-x---" || modes["./app/group"] == "-rw-r-----", "\(listing)")
        #expect(modes["./app/shared/"] == "drwxrwxrwx", "\(listing)")
    }
}
