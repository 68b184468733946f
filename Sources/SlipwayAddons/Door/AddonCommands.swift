import Foundation
import SlipwaySystem

/// The add-on commands' logic: `addons`, `addons:create`, `addons:info`, `addons:attach`, `addons:detach`,
/// `addons:destroy` (docs/addons.md). Every change happens under the add-ons' lock and leaves nothing half-made: a
/// record is written before its resources are made and removed after they are gone, and a config var is set only
/// once what it points at exists.
public struct AddonCommands {
    let root: String
    let door: any AddonDoor
    let registry: AddonRegistry

    public init(root: String, door: any AddonDoor) {
        self.root = root
        self.door = door
        registry = AddonRegistry(layout: AddonLayout(root: root))
    }

    /// `addons [<app>]`: the add-ons of every app the actor may use (or of one app), with their attachments.
    public func list(app: String?) throws {
        if let app { try door.checkApp(app) }
        let visible = registry.all().filter { record in
            guard door.mayUse(record.app) || record.attachments.contains(where: { door.mayUse($0.app) }) else {
                return false
            }
            return app.map { app in record.app == app || record.attachments.contains { $0.app == app } } ?? true
        }
        guard !visible.isEmpty else {
            door.out(app.map { "\($0) has no add-ons." } ?? "No add-ons.")
            return
        }
        var rows = [["Add-on", "Plan", "State", "Attached as"]]
        for record in visible {
            let attached = record.attachments.filter { door.mayUse($0.app) }.map { "\($0.app)::\($0.configVar)" }
            rows.append([record.name, record.kind.rawValue, record.state.rawValue, attached.joined(separator: ", ")])
        }
        for line in alignedRows(rows) { door.out(line) }
    }

    /// `addons:create <app> <kind> [--as NAME]`.
    public func create(app: String, kind word: String, as attachmentWord: String?) throws {
        try door.checkApp(app)
        let kind = try AddonKind.named(word)
        let attachment = try attachmentWord.map { try AddonNames.attachment($0) } ?? kind.defaultAttachment
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            try checkFree(attachment, app: app)
            let provider = try AddonProviders.provider(for: kind, root: root)
            let name = newName(kind)
            var record = AddonRecord(
                name: name, kind: kind, provider: provider.name, app: app, state: .creating, createdAt: Date(),
                credentials: nil, attachments: [])
            try registry.save(record)
            let credentials: AddonCredentials
            do { credentials = try provider.provision(name) } catch {
                try? registry.remove(name)
                throw error
            }
            record.credentials = credentials
            record.state = .created
            record.attachments = [AddonRecord.Attachment(app: app, name: attachment)]
            door.say("Creating \(name) on \(app)... done")
            do {
                try registry.save(record)
                try door.changeConfig(app, set: [("\(attachment)_URL", provider.url(credentials))], unset: [])
            } catch {
                // Nothing half-made: the resources go, and so does the record.
                try? provider.deprovision(name, credentials)
                try? registry.remove(name)
                throw error
            }
            door.say("Created \(name) as \(attachment)_URL")
            door.out(name)
        }
    }

    /// `addons:info <addon>`.
    public func info(_ name: String) throws {
        let record = try visibleRecord(name)
        let provider = try? AddonProviders.provider(named: record.provider, root: root)
        door.out("=== \(record.name)")
        let formatter = ISO8601DateFormatter()
        var rows = [
            ["Plan:", record.kind.rawValue], ["Provider:", record.provider], ["App:", record.app],
            ["State:", record.state.rawValue], ["Created:", formatter.string(from: record.createdAt)],
            ["Server:", provider?.isAvailable() == true ? "available" : "not answering"],
        ]
        let attached = record.attachments.filter { door.mayUse($0.app) }.map { "\($0.app)::\($0.configVar)" }
        rows.append(["Attachments:", attached.isEmpty ? "none" : attached.joined(separator: ", ")])
        for line in alignedRows(rows) { door.out(line) }
    }

    /// `addons:attach <app> <addon> [--as NAME]`.
    public func attach(app: String, addon name: String, as attachmentWord: String?) throws {
        try door.checkApp(app)
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            var record = try visibleRecord(name)
            guard record.state == .created, let credentials = record.credentials else {
                throw AddonError(.failed, "\(name) is \(record.state.rawValue): only a created add-on can be attached")
            }
            let attachment = try attachmentWord.map { try AddonNames.attachment($0) } ?? record.kind.defaultAttachment
            try checkFree(attachment, app: app)
            let provider = try AddonProviders.provider(named: record.provider, root: root)
            record.attachments.append(AddonRecord.Attachment(app: app, name: attachment))
            try registry.save(record)
            door.say("Attaching \(name) to \(app) as \(attachment)_URL...")
            do {
                try door.changeConfig(app, set: [("\(attachment)_URL", provider.url(credentials))], unset: [])
            } catch {
                record.attachments.removeLast()
                try? registry.save(record)
                throw error
            }
        }
    }

    /// `addons:detach <app> <addon>`: every attachment of the add-on to the app.
    public func detach(app: String, addon name: String) throws {
        try door.checkApp(app)
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            var record = try visibleRecord(name)
            let vars = record.attachments.filter { $0.app == app }.map(\.configVar)
            guard !vars.isEmpty else {
                throw AddonError(.notFound, "\(name) is not attached to \(app) (addons \(app) lists its add-ons)")
            }
            door.say("Detaching \(name) from \(app)...")
            try door.changeConfig(app, set: [], unset: vars)
            record.attachments.removeAll { $0.app == app }
            try registry.save(record)
        }
    }

    /// `addons:destroy <addon> --confirm <addon>`: detaches it everywhere, then removes its resources and data.
    public func destroy(_ name: String, confirm: String?) throws {
        let lock = try registry.lock()
        try withExtendedLifetime(lock) {
            var record = try visibleRecord(name)
            guard confirm == name else {
                throw AddonError(
                    .confirmation,
                    "destroying \(name) deletes its data for good: run addons:destroy \(name) --confirm \(name)")
            }
            let provider = try AddonProviders.provider(named: record.provider, root: root)
            record.state = .destroying
            try registry.save(record)
            for app in Set(record.attachments.map(\.app)).sorted() {
                let vars = record.attachments.filter { $0.app == app }.map(\.configVar)
                try door.changeConfig(app, set: [], unset: vars)
                record.attachments.removeAll { $0.app == app }
                try registry.save(record)
            }
            if let credentials = record.credentials { try provider.deprovision(name, credentials) }
            try removeBackups(name)
            try registry.remove(name)
            door.say("Destroying \(name) on \(record.app)... done")
        }
    }

    /// The record of `name` when the actor may use its app; the same refusal for a missing and a hidden add-on.
    private func visibleRecord(_ name: String) throws -> AddonRecord {
        guard let record = try registry.load(name), door.mayUse(record.app) else {
            throw AddonError(
                .notFound, "no add-on \(AddonNames.shown(name)) that you may use (addons lists yours)")
        }
        return record
    }

    /// Refuses an attachment name the app uses already, as an attachment or as a config var of its own.
    private func checkFree(_ attachment: String, app: String) throws {
        let key = "\(attachment)_URL"
        let taken = registry.all().contains { $0.attachments.contains { $0.app == app && $0.name == attachment } }
        let vars = try door.configVars(app)
        if taken || vars[key] != nil {
            throw AddonError(
                .taken, "\(app) has \(key) set already: attach under another name with --as NAME (NAME_URL)")
        }
    }

    /// A name no add-on has: `postgresql-sunny-40213`, Heroku's form.
    private func newName(_ kind: AddonKind) -> String {
        let words = ["amber", "brisk", "calm", "deep", "eager", "fair", "gentle", "keen", "lively", "quiet", "sunny"]
        while true {
            let name = "\(kind.rawValue)-\(words.randomElement() ?? "calm")-\(Int.random(in: 10000...99999))"
            if (try? registry.load(name)) == nil { return name }
        }
    }
}
