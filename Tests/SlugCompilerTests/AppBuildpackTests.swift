import Foundation
import SlipwayTestSupport
import Testing

@testable import SlugCompiler

/// What an app may name as a buildpack in a push (its `.buildpacks`, `BUILDPACK_URL`, `buildpacks:set`): issue 31
/// found that any folder on the server (another app's repository, `/etc`) was copied into the build, outside the
/// sandbox.
@Suite struct AppBuildpackTests {
    let names = BuiltinBuildpacks.detectionOrder

    func allowed(_ text: String, folders: [String] = []) -> Bool {
        (try? BuildpackReference(text, builtinNames: names).checkChosenByApp(allowedFolders: folders)) != nil
    }

    @Test func builtinsAndNetworkGitURLsAreAllowed() {
        for text in [
            "python", "heroku/nodejs", "procfile", "https://github.com/heroku/heroku-buildpack-python",
            "https://example.com/bp.git#v1", "HTTPS://example.com/bp.git", "http://example.com/bp.git",
            "git://example.com/bp.git",
        ] {
            #expect(allowed(text), "\(text)")
        }
    }

    @Test func foldersAndTheServersOwnRepositoriesAreRefused() throws {
        for text in [
            "/etc", "/srv/slipway/apps/shop/repo.git", "file:///srv/slipway/apps/shop/repo.git", "../shop/repo.git",
            "./vendor/bp", "git@github.com:me/bp.git", "ssh://git@example.com/bp.git", "ext::sh -c id",
        ] {
            #expect(!allowed(text), "\(text)")
        }
        do {
            try BuildpackReference("/etc", builtinNames: names).checkChosenByApp(allowedFolders: [])
            Issue.record("/etc was allowed")
        } catch let error as BuildError {
            #expect(error.message.contains("Buildpack /etc is not allowed"), "\(error.message)")
        }
    }

    @Test func onlyFoldersInsideTheOperatorsFoldersWhateverTheirLinks() throws {
        let scratch = try ScratchDirectory("app-buildpacks")
        let offered = try scratch.makeDirectory("offered")
        let pack = try scratch.makeDirectory("offered/pack")
        let outside = try scratch.makeDirectory("outside")
        try FileManager.default.createSymbolicLink(atPath: "\(offered)/escape", withDestinationPath: outside)
        #expect(allowed(pack, folders: [offered]))
        #expect(allowed(offered, folders: [offered]))
        #expect(!allowed(outside, folders: [offered]))
        #expect(!allowed("\(offered)/escape", folders: [offered]), "a symlink out of the offered folder")
        #expect(!allowed("\(offered)/../outside", folders: [offered]))
        #expect(!allowed(try scratch.makeDirectory("offered-not"), folders: [offered]))
        #expect(!allowed(pack, folders: []))
    }
}
