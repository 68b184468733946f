import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `pg:backups:capture`, `pg:backups`, `pg:backups:restore`: copies of an app's PostgreSQL add-on (`pg_dump -Fc`),
/// kept on the server in `<root>/addons/backups/<addon>/b001.dump`, … (mode 0600), each written under a temporary
/// name, flushed and renamed, so a listed backup is always whole.
extension AddonCommands {
    /// The PostgreSQL add-on the app uses as `DATABASE_URL`, else its first PostgreSQL attachment.
    func database(of app: String) throws -> AddonRecord { try addon(of: app, kind: .postgresql) }

    /// The add-on of `kind` the app uses under the kind's default name, else its first attachment of that kind.
    func addon(of app: String, kind: AddonKind) throws -> AddonRecord {
        try door.checkApp(app)
        let attached = registry.all().filter { record in
            record.kind == kind && record.state == .created && record.attachments.contains { $0.app == app }
        }
        let primary = attached.first {
            $0.attachments.contains { $0.app == app && $0.name == kind.defaultAttachment }
        }
        guard let record = primary ?? attached.first else {
            let name = kind == .postgresql ? "PostgreSQL" : "Redis"
            throw AddonError(
                .notFound, "\(app) has no \(name) add-on: addons:create \(app) \(kind.rawValue) makes one")
        }
        return record
    }

    /// `pg:backups:capture <app>`.
    public func capture(app: String) throws {
        let record = try database(of: app)
        let folder = backupsFolder(record.name)
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            do throws(SystemError) {
                try FileSystem.makeFolders(AddonLayout(root: root).backups, mode: 0o700)
                try FileSystem.makeFolders(folder, mode: 0o700)
            } catch {
                throw AddonError(.serverDown, "the backups' folder cannot be made on the server")
            }
            let id = String(format: "b%03d", (backups(record.name).map(\.number).max() ?? 0) + 1)
            let temporary = "\(folder)/.\(id).dump.tmp"
            unlink(temporary)
            door.say("Capturing a backup of \(record.name) (\(app))...")
            let provider = try AddonProviders.provider(named: record.provider, root: root)
            guard let credentials = record.credentials else {
                throw AddonError(.failed, "\(record.name) has no credentials")
            }
            do {
                try provider.backup(record.name, credentials, to: temporary)
                guard rename(temporary, "\(folder)/\(id).dump") == 0 else {
                    throw AddonError(.serverDown, "the backup could not be kept on the server")
                }
                try? DurableFile.syncFolder(folder)
            } catch {
                unlink(temporary)
                throw error
            }
            door.say("Captured backup \(id) of \(record.name)")
            door.out(id)
        }
    }

    /// `pg:backups <app>`: id, when, size.
    public func listBackups(app: String) throws {
        let record = try database(of: app)
        let found = backups(record.name)
        guard !found.isEmpty else {
            door.out("\(record.name) has no backups (pg:backups:capture \(app) takes one).")
            return
        }
        door.out("=== \(record.name) backups")
        let formatter = ISO8601DateFormatter()
        var rows = [["ID", "Taken", "Size"]]
        for backup in found {
            rows.append([backup.id, formatter.string(from: backup.taken), "\(backup.bytes) bytes"])
        }
        for line in alignedRows(rows) { door.out(line) }
    }

    /// `pg:backups:restore <app> <id> --confirm <app>`: the database as it was when the backup was taken.
    public func restoreBackup(app: String, id: String, confirm: String?) throws {
        let record = try database(of: app)
        guard let backup = backups(record.name).first(where: { $0.id == id }) else {
            throw AddonError(
                .notFound, "\(record.name) has no backup \(AddonNames.shown(id)) (pg:backups \(app) lists them)")
        }
        guard confirm == app else {
            throw AddonError(
                .confirmation,
                "restoring \(id) replaces \(record.name)'s data: run pg:backups:restore \(app) \(id) --confirm \(app)")
        }
        guard let credentials = record.credentials else {
            throw AddonError(.failed, "\(record.name) has no credentials")
        }
        let provider = try AddonProviders.provider(named: record.provider, root: root)
        door.say("Restoring \(record.name) (\(app)) from \(id)...")
        try provider.restore(record.name, credentials, from: backup.path)
        door.say("Restored \(record.name) from \(id)")
    }

    struct Backup {
        var id: String
        var number: Int
        var path: String
        var taken: Date
        var bytes: Int64
    }

    func backupsFolder(_ addon: String) -> String { "\(AddonLayout(root: root).backups)/\(addon)" }

    /// The whole backups of `addon`, oldest first.
    func backups(_ addon: String) -> [Backup] {
        let folder = backupsFolder(addon)
        let names = (try? FileSystem.names(in: folder)) ?? []
        return names.compactMap { name -> Backup? in
            guard name.hasPrefix("b"), name.hasSuffix(".dump"), let number = Int(name.dropFirst().dropLast(5))
            else { return nil }
            var info = stat()
            guard stat("\(folder)/\(name)", &info) == 0 else { return nil }
            return Backup(
                id: String(name.dropLast(5)), number: number, path: "\(folder)/\(name)",
                taken: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)), bytes: Int64(info.st_size))
        }.sorted { $0.number < $1.number }
    }
}
