import Testing

@testable import SlugCompiler

@Suite struct ReleaseInfoTests {
    @Test func parsesHerokuReleaseYAML() throws {
        let info = try ReleaseInfo(
            yaml: """
                ---
                addons:
                  - heroku-postgresql
                config_vars:
                  PATH: /app/bin:/usr/bin
                  WEB_CONCURRENCY: "2"
                default_process_types:
                  web: gunicorn app:app
                  console: python
                """, buildpack: "Python")
        #expect(info.addons == ["heroku-postgresql"])
        #expect(info.configVars == ["PATH": "/app/bin:/usr/bin", "WEB_CONCURRENCY": "2"])
        #expect(info.defaultProcessTypes == ["web": "gunicorn app:app", "console": "python"])
    }

    @Test(arguments: ["", "---\n", "--- {}\n", "---\naddons: []\nconfig_vars: {}\ndefault_process_types: ~\n"])
    func emptyDocumentsMeanNothing(yaml: String) throws {
        #expect(try ReleaseInfo(yaml: yaml, buildpack: "X") == ReleaseInfo())
    }

    @Test func brokenYAMLCarriesTheParsersMessage() {
        #expect {
            try ReleaseInfo(yaml: "default_process_types:\n  web: [unclosed\n", buildpack: "Spy")
        } throws: { error in
            guard let error = error as? BuildError else { return false }
            return error.code == .releaseYAMLInvalid && error.message.contains("Spy") && error.message.contains("parse")
        }
    }

    @Test func wrongShapeIsRefused() {
        #expect(throws: BuildError.self) { try ReleaseInfo(yaml: "- a\n- b\n", buildpack: "X") }
        #expect(throws: BuildError.self) { try ReleaseInfo(yaml: "default_process_types: [web]\n", buildpack: "X") }
        #expect(throws: BuildError.self) { try ReleaseInfo(yaml: "config_vars:\n  A: {b: c}\n", buildpack: "X") }
    }
}
