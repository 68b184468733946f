public import ArgumentParser
import SlipwayBench
import SlipwayGit
import SlipwayHTTP
import SlipwayObjectStore
import SlipwaySpool
import SlugCompiler

/// `slipway-bench`: the building blocks `scripts/bench` times. Thin: each subcommand calls one library entry point.
@main
struct SlipwayBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slipway-bench",
        abstract: "Helpers for scripts/bench: generate a test tree, pack a folder as a slug, export a git tree.",
        subcommands: [Generate.self, Pack.self, Export.self, Upload.self])
}

extension SlipwayBenchCommand {
    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a deterministic tree of text, binary and random files into an empty folder.")

        @Argument(help: "The folder to fill (created if missing).")
        var directory: String

        @Option(help: "Roughly how many megabytes (MiB) of file content to write.")
        var sizeMB: Int = 200

        @Option(help: "The seed: the same seed and size give the same tree.")
        var seed: UInt64 = 1

        func run() throws {
            let summary = try TreeGenerator(seed: seed, totalBytes: Int64(sizeMB) << 20).generate(into: directory)
            print(
                "\(summary.files) files, \(summary.symlinks) symlinks, \(summary.directories) folders, "
                    + "\(summary.bytes) bytes")
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack a folder into a slug exactly as slugc build does, without running buildpacks.")

        @Argument(help: "The folder to pack.")
        var directory: String

        @Argument(help: "The slug file to create (must not exist).")
        var slug: String

        @Option(help: "gzip or zstd.")
        var compression: SlugCompression = .gzip

        @Option(help: "Compression threads. (default: the processors online)")
        var threads: Int?

        func run() throws {
            var packer = SlugPacker(mtime: 0, compression: compression)
            if let threads { packer.threads = threads }
            let output = try packer.pack(directory, into: slug)
            print("\(output.size) \(output.sha256)")
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a commit's tree into an empty folder, as the pre-receive hook does.")

        @Argument(help: "The git repository.")
        var repository: String

        @Argument(help: "The revision to export.")
        var revision: String

        @Argument(help: "The empty folder to write into.")
        var directory: String

        @Option(help: "Threads that write files. (default: the processors online)")
        var threads: Int = Repository.defaultExportThreads

        func run() throws {
            let report = try Repository.open(at: repository).exportTree(of: revision, to: directory, threads: threads)
            print("\(report.fileCount) files, \(report.symlinkCount) symlinks, \(report.byteCount) bytes")
        }
    }
}

extension SlipwayBenchCommand {
    struct Upload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Upload a file to s3://bucket/key as the push server uploads a slug (keys: AWS_ACCESS_KEY_ID…).")

        @Argument(help: "The file.")
        var file: String

        @Argument(help: "s3://bucket/key")
        var url: String

        @Option(help: "The S3 server.")
        var endpoint: String

        func run() throws {
            let key = String(
                url.split(separator: "/", omittingEmptySubsequences: true).dropFirst(2).joined(separator: "/"))
            let bucket = String(url.dropFirst(5).prefix { $0 != "/" })
            let location = try S3Location(url: "s3://\(bucket)", endpoint: endpoint, pathStyle: true)
            let credentials = try S3Credentials.load(file: nil)
            let path = file
            try Blocking.withClient(location, credentials) { try await $0.upload(file: path, to: key) }
        }
    }
}

extension SlugCompression: ExpressibleByArgument {}
