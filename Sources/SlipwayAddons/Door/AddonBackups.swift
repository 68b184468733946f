import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `pg:backups:capture`, `pg:backups`, `pg:backups:restore`: copies of an app's PostgreSQL add-on (`pg_dump -Fc`),
/// kept in the spool's store (``BackupStore``): the spool's bucket when the spool is one, else
/// `<root>/addons/backups/<addon>/`; each is made aside and kept whole, so a listed backup is never partial.
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

    /// Where backups are kept: the spool's bucket when the spool is one, else the root's folder.
    func backupStore() throws -> any BackupStore {
        let layout = AddonLayout(root: root)
        guard let bucket = try door.backupBucket() else { return FolderBackupStore(layout: layout) }
        return BucketBackupStore(layout: layout, bucket: bucket)
    }

    /// `pg:backups:capture <app>`.
    public func capture(app: String) throws {
        let record = try database(of: app)
        let store = try backupStore()
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            let id = String(format: "b%03d", (try store.list(record.name).map(\.number).max() ?? 0) + 1)
            let temporary = try store.scratch(record.name, id: id)
            door.say("Capturing a backup of \(record.name) (\(app))...")
            let provider = try AddonProviders.provider(named: record.provider, root: root)
            guard let credentials = record.credentials else {
                throw AddonError(.failed, "\(record.name) has no credentials")
            }
            do {
                try provider.backup(record.name, credentials, to: temporary)
                try store.keep(record.name, id: id, file: temporary)
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
        let found = try backupStore().list(record.name)
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
        let store = try backupStore()
        guard let backup = try store.list(record.name).first(where: { $0.id == id }) else {
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
        let file = try store.fetch(record.name, backup)
        defer { if file.copy { unlink(file.path) } }
        try provider.restore(record.name, credentials, from: file.path)
        door.say("Restored \(record.name) from \(id)")
    }

    /// Removes every backup of `addon`: in the spool's bucket and in the root's folder (where backups went while the
    /// spool was a folder).
    func removeBackups(_ addon: String) throws {
        let layout = AddonLayout(root: root)
        try FolderBackupStore(layout: layout).removeAll(addon)
        if let bucket = try door.backupBucket() {
            try BucketBackupStore(layout: layout, bucket: bucket).removeAll(addon)
        }
    }
}
