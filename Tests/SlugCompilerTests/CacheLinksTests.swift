import Foundation
import SlipwayTestSupport
import Testing

@testable import SlugCompiler

/// A link from the app into its build cache is packed as the folder it names; every other link, and every link inside
/// that folder, stays a link, so no link reaches outside the cache or loops.
@Suite struct CacheLinksTests {
    /// Each entry of the slug packed from the app and cache that `make` writes (the cache seen by buildpacks as
    /// `/tmp/cache`), with its type: `dir`, `file` or `link`.
    func packedEntries(_ make: (ScratchDirectory) throws -> Void) throws -> [String: String] {
        let scratch = try ScratchDirectory("cache-links")
        try scratch.makeDirectory("app")
        try scratch.makeDirectory("cache")
        try make(scratch)
        var packer = SlugPacker(mtime: 0, threads: 1)
        packer.cacheLinks = CacheLinks(inside: "/tmp/cache", outside: scratch.url("cache"))
        _ = try packer.pack(scratch.url("app"), into: scratch.url("slug.tgz"))
        let kinds = ["b'5'": "dir", "b'0'": "file", "b'2'": "link"]
        var entries: [String: String] = [:]
        for line in try slugListing(scratch.url("slug.tgz")).split(separator: "\n") {
            let fields = line.split(separator: " ")
            entries[String(fields[0])] = kinds[String(fields[2])] ?? String(fields[2])
        }
        return entries
    }

    func link(_ scratch: ScratchDirectory, _ path: String, to target: String) throws {
        try FileManager.default.createDirectory(
            atPath: (scratch.url(path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: scratch.url(path), withDestinationPath: target)
    }

    @Test func aLinkToACacheFolderIsPackedAsThatFolder() throws {
        let entries = try packedEntries { scratch in
            try scratch.write("cache/ruby/runtime/bin/ruby", "#!/bin/sh\n", mode: 0o755)
            try link(scratch, "cache/ruby/runtime/bin/ruby3", to: "ruby")
            try link(scratch, "app/.heroku/ruby", to: "/tmp/cache/ruby/runtime")
        }
        #expect(entries["./app/.heroku/ruby"] == "dir", "\(entries)")
        #expect(entries["./app/.heroku/ruby/bin/ruby"] == "file", "\(entries)")
        #expect(entries["./app/.heroku/ruby/bin/ruby3"] == "link", "\(entries)")
    }

    @Test func linksThatLeaveTheCacheOrPassALinkStayLinks() throws {
        let entries = try packedEntries { scratch in
            try scratch.write("cache/runtime/secret", "x\n")
            try scratch.write("outside/file", "y\n")
            try link(scratch, "cache/through", to: scratch.url("outside"))
            try link(scratch, "app/up", to: "/tmp/cache/runtime/../../etc")
            try link(scratch, "app/dot", to: "/tmp/cache/./runtime")
            try link(scratch, "app/through", to: "/tmp/cache/through")
            try link(scratch, "app/relative", to: "../cache/runtime")
            try link(scratch, "app/prefix", to: "/tmp/cachex/runtime")
            try link(scratch, "app/cache", to: "/tmp/cache")
            try link(scratch, "app/missing", to: "/tmp/cache/nothing")
        }
        for name in ["up", "dot", "through", "relative", "prefix", "cache", "missing"] {
            #expect(entries["./app/\(name)"] == "link", "\(name): \(entries)")
        }
        #expect(entries.count == 8, "the app folder and its seven links only: \(entries)")
    }

    @Test func aLinkInsideAFollowedFolderStaysALink() throws {
        let entries = try packedEntries { scratch in
            try scratch.write("cache/a/file", "a\n")
            // A loop if links inside the followed folder were followed too.
            try link(scratch, "cache/a/again", to: "/tmp/cache/a")
            try link(scratch, "app/a", to: "/tmp/cache/a")
        }
        #expect(entries["./app/a/file"] == "file", "\(entries)")
        #expect(entries["./app/a/again"] == "link", "\(entries)")
    }
}
