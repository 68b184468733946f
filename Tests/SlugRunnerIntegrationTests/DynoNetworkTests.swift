import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every dyno in a network of its own (needs root, bubblewrap, iproute2 and nftables, as this project's machines
/// have): seen from inside a dyno of one app, what it can reach.
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"),
        "needs root, bubblewrap and nftables"))
struct DynoNetworkTests {
    /// `net.sh`: tries a TCP connection to each `name=host:port` of `$TARGETS` (and to its gateway, the host's end of
    /// its link, on `$HOST_PORT`), printing `net <dyno> <name> reached|refused`, then `net <dyno> done`.
    static let probe = """
        #!/usr/bin/env bash
        reach() {
            if timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$2" "$3" 2>/dev/null; then
                echo "net $DYNO $1 reached"
            else
                echo "net $DYNO $1 refused"
            fi
        }
        gateway=$(awk '$2 == "00000000" { print $3 }' /proc/net/route | head -1)
        if [ -n "$gateway" ]; then
            printf -v gateway '%d.%d.%d.%d' "0x${gateway:6:2}" "0x${gateway:4:2}" "0x${gateway:2:2}" "0x${gateway:0:2}"
            reach gateway "$gateway" "$HOST_PORT"
        fi
        for target in $TARGETS; do
            name=${target%%=*}
            address=${target#*=}
            reach "$name" "${address%:*}" "${address##*:}"
        done
        echo "net $DYNO listeners $(awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 | sort -u | tr '\\n' ' ')end"
        echo "net $DYNO interfaces $(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev | sort | tr '\\n' ' ')"
        echo "net $DYNO done"
        """

    /// The probe app's web process: the probe, then a server on the other app's `PORT` too (allowed in its own
    /// network, and reached by nobody), and the usual web server on its own.
    static let probeWeb = """
        #!/usr/bin/env bash
        ./net.sh
        mkdir -p squat && echo squatter > squat/page.txt
        (cd squat && exec python3 -m http.server "$OTHER_PORT" --bind 0.0.0.0 >/dev/null 2>&1) &
        exec ./web.sh
        """

    @Test func aDynoReachesTheOutsideAndTheRouterReachesItButNothingElseOnTheMachine() throws {
        let h = try RunnerHarness("dyno-network")
        // What runs on the host: OpenSSH, the doors (SSH and HTTP), an S3 server, and a server on every address.
        let keys = try ScratchDirectory("dyno-network-keys")
        _ = try keys.write("authorized_keys", "")
        let sshd = try PrivateSSHD(directory: keys.path, authorizedKeysFile: keys.url("authorized_keys"))
        defer { sshd.stop() }
        let doors = try ServerHarness("dyno-network-doors", arguments: ["--http", "127.0.0.1:0"])
        defer { _ = doors.stop() }
        let listening = {
            doors.output.split(separator: "\n").filter { $0.contains(" listening on") }.compactMap {
                $0.split(separator: ":").last.flatMap { UInt16($0) }
            }
        }
        #expect(waitUntil(seconds: 30) { listening().count == 2 }, "the SSH and HTTP doors: \(doors.output)")
        let doorPorts = listening()
        let s3 = try PrivateSeaweedFS(directory: h.scratch.url("weed"), buckets: ["slugs"])
        defer { s3.stop() }
        let everywherePort = try freeLoopbackPort()
        let everywhere = try TestProcess(
            ["/usr/bin/python3", "-m", "http.server", "\(everywherePort)", "--bind", "0.0.0.0"],
            directory: h.scratch.path)
        defer { everywhere.terminate(grace: 5) }
        let outside = try OutsideNetwork(scratch: h.scratch)
        defer { outside.stop() }
        #expect(waitUntil(seconds: 30) { portAcceptsConnections(everywherePort, host: "127.0.0.1") })

        // The other app, behind the router.
        let routerPort = try freeLoopbackPort()
        let alphaSlug = try h.buildSlug("alpha")
        try h.publish(alphaSlug, app: "alpha", version: 1, config: ["PAGE": "alpha"])
        let watcher = try h.startWatch(["--router", "127.0.0.1:\(routerPort)"])
        let alpha = try #require(h.waitForRelease(1, app: "alpha"), "\(h.watchOutput)")
        let alphaWeb = try #require(alpha.processes.first { $0.dyno == "web.1" })
        let alphaAddress = try #require(alphaWeb.address, "a dyno of its own network has an address of its own")
        #expect(try h.get(alphaWeb) == "alpha\n", "the runner's host reaches the dyno at its address")
        #expect(try h.get(alphaWeb.port) == nil, "the dyno does not listen on the host's loopback")
        #expect(Self.viaRouter(routerPort, "alpha") == "alpha\n", "the router reaches it")

        // The probe, as a web dyno and as its release phase.
        var targets = [
            "other-dyno=\(alphaAddress):\(alphaWeb.port)", "other-dyno-loopback=127.0.0.1:\(alphaWeb.port)",
            "sshd=127.0.0.1:\(sshd.port)", "s3=127.0.0.1:\(s3.s3Port)", "router=127.0.0.1:\(routerPort)",
            "host-loopback=127.0.0.1:\(everywherePort)", "outside=\(outside.serverAddress):\(outside.serverPort)",
        ]
        for (index, port) in doorPorts.enumerated() { targets.append("door-\(index + 1)=127.0.0.1:\(port)") }
        // Read once: other tests running beside this one add and remove interfaces of their own meanwhile.
        let hostAddresses = Self.hostAddresses()
        for (index, address) in hostAddresses.enumerated() {
            targets.append("host-address-\(index + 1)=\(address):\(everywherePort)")
        }
        let probeSlug = try h.buildSlug(
            "probe", files: ["net.sh": Self.probe, "probe-web.sh": Self.probeWeb],
            procfile: "web: ./probe-web.sh\nrelease: ./net.sh\n")
        try h.publish(
            probeSlug, app: "probe", version: 1,
            config: [
                "PAGE": "probe", "TARGETS": targets.joined(separator: " "), "HOST_PORT": "\(everywherePort)",
                "OTHER_PORT": "\(alphaWeb.port)",
            ])
        let probe = try #require(h.waitForRelease(1, app: "probe"), "\(h.watchOutput)")
        #expect(
            waitUntil(seconds: 60) { h.log("probe").contains("net web.1 done") }, "\(h.log("probe"))")
        let log = h.log("probe")
        for dyno in ["release.1", "web.1"] {
            #expect(log.contains("net \(dyno) done"), "\(log)")
            #expect(log.contains("net \(dyno) outside reached"), "the outside, through NAT: \(log)")
            let names =
                ["gateway", "other-dyno", "other-dyno-loopback", "sshd", "s3", "router", "host-loopback"]
                + doorPorts.indices.map { "door-\($0 + 1)" }
                + hostAddresses.indices.map { "host-address-\($0 + 1)" }
            for name in names {
                #expect(log.contains("net \(dyno) \(name) refused"), "\(dyno) must not reach \(name): \(log)")
            }
            #expect(log.contains("net \(dyno) interfaces eth0 lo"), "\(log)")
            // The kernel's socket tables show the dyno's own network only: not the host's listeners (nor, so, the
            // addresses of other apps' visitors).
            let listeners = Self.listeners(of: dyno, in: log)
            #expect(listeners != nil, "\(log)")
            for port in [sshd.port, s3.s3Port, everywherePort, routerPort] + doorPorts {
                #expect(listeners?.contains(String(format: "%04X", port)) == false, "\(dyno) sees port \(port): \(log)")
            }
        }
        // And as a one-off dyno, asked for at the door (`run`), attached to this process.
        let created = try runTool(
            [TestPaths.product("receive-pack"), "apps", "create", "--root", h.root, "probe", "--owner", "alice"])
        #expect(created.status == 0, "\(created.output)")
        let oneOff = try runTool(
            [TestPaths.product("receive-pack"), "run", "--root", h.root, "probe", "--", "./net.sh"], timeout: 120)
        #expect(oneOff.status == 0, "\(oneOff.output)")
        #expect(oneOff.stdout.contains("net run.1 outside reached"), "\(oneOff.output)")
        for name in ["gateway", "other-dyno", "sshd", "s3", "router", "host-loopback"] {
            #expect(
                oneOff.stdout.contains("net run.1 \(name) refused"), "run.1 must not reach \(name): \(oneOff.output)")
        }

        let probeWeb = try #require(probe.processes.first { $0.dyno == "web.1" })
        #expect(probeWeb.address != alphaAddress)
        #expect(Self.viaRouter(routerPort, "probe") == "probe\n")

        // The probe listens on alpha's port in its own network: traffic for alpha never reaches it, even while
        // alpha's dyno restarts.
        let alphaPid = try #require(alphaWeb.pid)
        kill(-alphaPid, SIGKILL)
        var answers: [String] = []
        #expect(
            waitUntil(seconds: 60) {
                answers.append(Self.viaRouter(routerPort, "alpha") ?? "-")
                answers.append((try? h.get(alphaWeb.port, address: alphaAddress)) ?? "-")
                return (try? h.ps("alpha"))?.processes.contains {
                    $0.dyno == "web.1" && $0.pid != alphaPid
                        && $0.state == "up"
                } == true
            }, "\(h.watchOutput)")
        #expect(!answers.contains("squatter\n"), "\(answers)")
        #expect(Self.viaRouter(routerPort, "alpha") == "alpha\n")

        let block = try #require(Self.block(h.watchOutput), "\(h.watchOutput)")
        #expect(!NetworkNamespace.names(startingWith: "slipway-\(block)-").isEmpty)
        #expect(h.stopWatch(watcher) == 0)
        #expect(NetworkNamespace.names(startingWith: "slipway-\(block)-").isEmpty, "the namespaces go with the dynos")
    }

    /// The body of `GET /page.txt` for `<app>.localhost` through the router, or nil.
    static func viaRouter(_ port: UInt16, _ app: String) -> String? {
        guard
            let result = try? runTool(
                [
                    "/usr/bin/curl", "-s", "--max-time", "5", "-H", "Host: \(app).localhost",
                    "http://127.0.0.1:\(port)/page.txt",
                ], timeout: 10)
        else { return nil }
        return result.stdout
    }

    /// The listening ports (hexadecimal, as the kernel writes them) the probe found in `dyno`'s socket tables.
    static func listeners(of dyno: String, in log: String) -> [String]? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("net \(dyno) listeners ") }),
            let range = line.range(of: "net \(dyno) listeners ")
        else { return nil }
        let words = line[range.upperBound...].split(separator: " ").map(String.init)
        return words.last == "end" ? Array(words.dropLast()) : nil
    }

    /// The host's own IPv4 addresses other than loopback (its interfaces', the dynos' gateways excepted).
    static func hostAddresses() -> [String] {
        let listed = (try? runTool(["/usr/sbin/ip", "-4", "-o", "addr", "show"]))?.stdout ?? ""
        return listed.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count > 3, !words[1].hasPrefix("lo"), !words[1].hasPrefix("slwd"),
                let cidr = words.firstIndex(of: "inet").map({ words[$0 + 1] })
            else { return nil }
            return String(cidr.split(separator: "/")[0])
        }
    }

    /// The runner's block of dyno networks, from its first lines (`… per dyno (10.<200 + block>.0.0/16)`).
    static func block(_ output: String) -> Int? {
        guard let range = output.range(of: #"\(10\.(\d+)\.0\.0/16\)"#, options: .regularExpression) else { return nil }
        return Int(output[range].dropFirst(4).prefix { $0.isNumber }).map { $0 - 200 }
    }
}

/// A machine outside this one, as far as a dyno can tell: a network namespace with a veth link to the host (its
/// own /30 of 10.251.0.0/16) and a web server in it.
final class OutsideNetwork {
    let name: String
    let serverAddress: String
    let serverPort: UInt16 = 8000
    private let server: TestProcess

    init(scratch: ScratchDirectory) throws {
        let slot = Int(getpid() % 16000)
        name = "slwtest-outside-\(getpid())"
        let hostEnd = "otest\(slot)"
        let host = "10.251.\(slot * 4 / 256).\(slot * 4 % 256 + 1)"
        serverAddress = "10.251.\(slot * 4 / 256).\(slot * 4 % 256 + 2)"
        for command in [
            ["netns", "add", name],
            ["link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", name],
            ["addr", "add", "\(host)/30", "dev", hostEnd], ["link", "set", hostEnd, "up"],
            ["-n", name, "link", "set", "lo", "up"], ["-n", name, "addr", "add", "\(serverAddress)/30", "dev", "eth0"],
            ["-n", name, "link", "set", "eth0", "up"], ["-n", name, "route", "add", "default", "via", host],
        ] {
            let result = try runTool(["/usr/sbin/ip"] + command)
            guard result.status == 0 else { throw HarnessError("ip \(command): \(result.output)") }
        }
        _ = try scratch.write("outside/page.txt", "outside\n")
        server = try TestProcess(
            [
                "/usr/sbin/ip", "netns", "exec", name, "/usr/bin/python3", "-m", "http.server", "\(serverPort)",
                "--bind", "0.0.0.0",
            ], directory: scratch.url("outside"))
        let ready = waitUntil(seconds: 30) { portAcceptsConnections(self.serverPort, host: self.serverAddress) }
        guard ready else { throw HarnessError("the outside server did not start") }
    }

    func stop() {
        server.terminate(grace: 5)
        _ = try? runTool(["/usr/sbin/ip", "netns", "delete", name])
    }
}
