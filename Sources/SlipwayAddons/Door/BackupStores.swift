import Crypto
import Foundation
import SlipwayHTTP
public import SlipwayObjectStore
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The spool's bucket, where backups go when the spool is one (`receive-pack init --spool s3://…`).
public struct BackupBucket: Sendable {
    public var location: S3Location
    public var credentials: S3Credentials

    public init(location: S3Location, credentials: S3Credentials) {
        self.location = location
        self.credentials = credentials
    }
}

/// One whole backup of an add-on.
struct Backup {
    var id: String
    var number: Int
    var taken: Date
    var bytes: Int64
}

/// Where an add-on's backups are kept: the spool's store. A backup is made in ``scratch(_:id:)``, then kept whole by
/// ``keep(_:id:file:)``, so a listed backup is never partial.
protocol BackupStore {
    /// Where the dump of a new backup is written before it is kept.
    func scratch(_ addon: String, id: String) throws(AddonError) -> String
    /// Keeps the dump `file` as backup `id` (the file is gone afterwards).
    func keep(_ addon: String, id: String, file: String) throws(AddonError)
    /// The add-on's backups, oldest first.
    func list(_ addon: String) throws(AddonError) -> [Backup]
    /// A file on this machine holding the backup, and whether it is a copy to remove once read.
    func fetch(_ addon: String, _ backup: Backup) throws(AddonError) -> (path: String, copy: Bool)
    /// Removes every backup of the add-on.
    func removeAll(_ addon: String) throws(AddonError)
}

/// Backups in `<root>/addons/backups/<addon>/b001.dump`, … (mode 0600, folder 0700), each written under a temporary
/// name in the same folder, flushed and renamed.
struct FolderBackupStore: BackupStore {
    let layout: AddonLayout

    func folder(_ addon: String) -> String { "\(layout.backups)/\(addon)" }

    func scratch(_ addon: String, id: String) throws(AddonError) -> String {
        do throws(SystemError) {
            try FileSystem.makeFolders(layout.backups, mode: 0o700)
            try FileSystem.makeFolders(folder(addon), mode: 0o700)
        } catch {
            throw AddonError(.serverDown, "the backups' folder cannot be made on the server")
        }
        let path = "\(folder(addon))/.\(id).dump.tmp"
        unlink(path)
        return path
    }

    func keep(_ addon: String, id: String, file: String) throws(AddonError) {
        guard rename(file, "\(folder(addon))/\(id).dump") == 0 else {
            throw AddonError(.serverDown, "the backup could not be kept on the server")
        }
        try? DurableFile.syncFolder(folder(addon))
    }

    func list(_ addon: String) throws(AddonError) -> [Backup] {
        let names = (try? FileSystem.names(in: folder(addon))) ?? []
        return names.compactMap { name -> Backup? in
            guard let number = BackupKeys.number(name) else { return nil }
            var info = stat()
            guard stat("\(folder(addon))/\(name)", &info) == 0 else { return nil }
            return Backup(
                id: String(name.dropLast(5)), number: number,
                taken: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)), bytes: Int64(info.st_size))
        }.sorted { $0.number < $1.number }
    }

    func fetch(_ addon: String, _ backup: Backup) throws(AddonError) -> (path: String, copy: Bool) {
        ("\(folder(addon))/\(backup.id).dump", false)
    }

    func removeAll(_ addon: String) throws(AddonError) {
        do throws(SystemError) { try FileSystem.removeTree(folder(addon)) } catch {
            throw AddonError(.serverDown, "the backups of \(addon) cannot be removed on the server")
        }
    }
}

/// Backups in the spool's bucket, `backups/<addon>/b001.dump`, … under its prefix, each written create-only (a key
/// that exists is never overwritten) with its SHA-256 and the time it was taken, and checked against that SHA-256
/// when it is read back. The dump is made in `<root>/addons/transfer/` (mode 0700) and removed once uploaded, and a
/// restore's copy once restored: nothing stays on the door's machine.
struct BucketBackupStore: BackupStore {
    let layout: AddonLayout
    let bucket: BackupBucket

    var transfer: String { "\(layout.folder)/transfer" }

    func scratch(_ addon: String, id: String) throws(AddonError) -> String {
        do throws(SystemError) { try FileSystem.makeFolders(transfer, mode: 0o700) } catch {
            throw AddonError(.serverDown, "the backups' folder cannot be made on the server")
        }
        let path = "\(transfer)/\(addon)-\(id).dump.tmp"
        unlink(path)
        return path
    }

    func keep(_ addon: String, id: String, file: String) throws(AddonError) {
        defer { unlink(file) }
        let sha256 = try Self.sha256(of: file)
        let key = BackupKeys.key(addon, id)
        let metadata = ["sha256": sha256, "taken": ISO8601DateFormatter().string(from: Date())]
        var info = stat()
        guard stat(file, &info) == 0 else { throw AddonError(.serverDown, "the backup cannot be read on the server") }
        let size = Int64(info.st_size)
        try run { client in
            if size <= Int64(S3Client.partSize) {
                let body = try FileSystem.read(file) ?? Data()
                try await client.put(key, body, createOnly: true, metadata: metadata)
            } else {
                // In parts, which If-None-Match does not cover everywhere: the key is checked free first, under the
                // add-ons' lock that every capture holds.
                guard try await client.head(key) == nil else {
                    throw ObjectStoreError(.alreadyExists, "the backup exists already")
                }
                try await client.upload(file: file, to: key, metadata: metadata)
            }
        }
    }

    func list(_ addon: String) throws(AddonError) -> [Backup] {
        try run { client in
            var found: [Backup] = []
            for object in try await client.list(BackupKeys.prefix(addon)) {
                let name = String(object.key.split(separator: "/").last ?? "")
                guard let number = BackupKeys.number(name), let info = try await client.head(object.key) else {
                    continue
                }
                let taken = info.metadata["taken"].flatMap { ISO8601DateFormatter().date(from: $0) } ?? Date()
                found.append(Backup(id: String(name.dropLast(5)), number: number, taken: taken, bytes: info.size))
            }
            return found.sorted { $0.number < $1.number }
        }
    }

    func fetch(_ addon: String, _ backup: Backup) throws(AddonError) -> (path: String, copy: Bool) {
        let path = try scratch(addon, id: backup.id)
        let key = BackupKeys.key(addon, backup.id)
        do throws(AddonError) {
            try run { client in
                guard let info = try await client.head(key), let sha256 = info.metadata["sha256"] else {
                    throw ObjectStoreError(.notFound, "the backup is missing")
                }
                try await client.download(key, to: path, sha256: sha256, size: info.size)
            }
        } catch {
            unlink(path)
            throw error
        }
        return (path, true)
    }

    func removeAll(_ addon: String) throws(AddonError) {
        try run { client in
            for object in try await client.list(BackupKeys.prefix(addon)) { try await client.delete(object.key) }
        }
    }

    /// Runs S3 work; its failures become one line without the bucket's address or keys.
    private func run<T: Sendable>(_ body: @escaping @Sendable (S3Client) async throws -> T) throws(AddonError) -> T {
        do { return try Blocking.withClient(bucket.location, bucket.credentials, body) } catch let error
            as ObjectStoreError
        {
            switch error.code {
            case .notFound: throw AddonError(.notFound, "the backup is missing from the spool's bucket")
            case .digestMismatch:
                throw AddonError(.failed, "the backup in the spool's bucket is damaged (its SHA-256 differs)")
            case .alreadyExists: throw AddonError(.failed, "a backup of that number exists already: capture again")
            default: throw AddonError(.serverDown, "the spool's bucket does not answer; try again when it is back")
            }
        } catch {
            throw AddonError(.serverDown, "the spool's bucket does not answer; try again when it is back")
        }
    }

    /// The SHA-256 of the file at `path`, read in 1 MiB pieces.
    static func sha256(of path: String) throws(AddonError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AddonError(.serverDown, "the backup cannot be read on the server") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw AddonError(.serverDown, "the backup cannot be read on the server") }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// The names backups have: `b001.dump`, … in a folder, `backups/<addon>/b001.dump` in the bucket.
enum BackupKeys {
    static func prefix(_ addon: String) -> String { "backups/\(addon)/" }
    static func key(_ addon: String, _ id: String) -> String { "\(prefix(addon))\(id).dump" }

    /// The number of the backup file `name` (`b001.dump`: 1); nil for anything else.
    static func number(_ name: String) -> Int? {
        guard name.hasPrefix("b"), name.hasSuffix(".dump"), let number = Int(name.dropFirst().dropLast(5)),
            number > 0
        else { return nil }
        return number
    }
}
