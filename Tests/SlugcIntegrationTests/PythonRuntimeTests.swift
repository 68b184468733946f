import Foundation
import SlipwayTestSupport
import Testing

/// The Python buildpack with a runtime store: the slug carries the store's Python (Debian's python3, relocated, with
/// Debian's pip), found on PATH wherever the slug is unpacked.
@Suite(.serialized) struct PythonRuntimeTests {
    @Test func aPythonAppCarriesItsPythonAndServes() throws {
        let h = try SlugcHarness("python-runtime")
        try h.app("requirements.txt", "")
        try h.app(".python-version", "3.11\n")
        try h.app(
            "app.py",
            """
            import http.server, os, sys

            class Hello(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = f"Hello from Python {sys.version_info.major}.{sys.version_info.minor}\\n".encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Hello).serve_forever()

            """)
        try h.app("Procfile", "web: python3 app.py\n")
        let url = try TestRuntimeStore.url(["python"])
        let result = try h.build(["--runtime-store", url], timeout: 600)
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains("-----> Using Python 3.11.2 from the runtime store (.python-version asks for 3.11)"),
            "\(result.output)")
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/.heroku/python-runtime/bin/python3.11"))
        #expect(entries.contains("./app/.profile.d/python-runtime.sh"))

        let dir = try h.scratch.makeDirectory("run")
        #expect(try runTool(["/bin/tar", "xzf", "\(h.output)/slug.tgz", "-C", dir]).status == 0)
        // The slug's Python, with its pip, is the one on PATH once the profile is sourced.
        let which = try runTool(
            [
                "/bin/bash", "-c",
                "cd \"$HOME\"; for f in .profile.d/*.sh; do . \"$f\"; done; command -v python3; python3 -m pip --version",
            ],
            environment: ["HOME": "\(dir)/app", "PATH": "/usr/bin:/bin"])
        #expect(which.stdout.hasPrefix("\(dir)/app/.heroku/python-runtime/bin/python3\npip "), "\(which.output)")
        let process = try AppProcess(appDirectory: "\(dir)/app", command: "python3 app.py", scratch: h.scratch)
        defer { process.stop() }
        #expect(try process.get() == "Hello from Python 3.11\n", "\(process.output)")
    }

    @Test func aPythonNobodyServesFailsNamingTheVersionAndWhere() throws {
        let h = try SlugcHarness("python-runtime-version")
        try h.app("requirements.txt", "")
        try h.app("runtime.txt", "python-2.7.18\n")
        let result = try h.build(["--runtime-store", try TestRuntimeStore.url(["python"])])
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Python 2.7.18 (asked for in runtime.txt) is not served by this server; it has Python 3.11.2."),
            "\(result.output)")
    }
}
