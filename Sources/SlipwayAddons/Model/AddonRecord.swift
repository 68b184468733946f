public import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One add-on as the door knows it: `<root>/addons/records/<name>.json` (mode 0600: it holds the credentials).
public struct AddonRecord: Codable, Sendable, Equatable {
    /// Where the add-on is in its life. A record stays `creating` or `destroying` only when that was interrupted;
    /// `addons:destroy` finishes either.
    public enum State: String, Codable, Sendable {
        case creating, created, destroying
    }

    /// An app's use of the add-on: the config var `<name>_URL` holds its URL.
    public struct Attachment: Codable, Sendable, Equatable {
        public var app: String
        /// `DATABASE`, `REPORTING`.
        public var name: String
        public var configVar: String { "\(name)_URL" }
    }

    public var name: String
    public var kind: AddonKind
    /// The provider that made it (``AddonProvider/name``).
    public var provider: String
    /// The app it was created for: whoever may use that app may attach, detach and destroy it.
    public var app: String
    public var state: State
    public var createdAt: Date
    public var credentials: AddonCredentials?
    public var attachments: [Attachment]
}

/// The add-ons' records, changed only under the add-ons' lock.
struct AddonRegistry {
    let layout: AddonLayout

    /// Takes the lock every change of add-ons holds.
    func lock() throws(AddonError) -> HeldLock {
        do throws(SystemError) {
            try FileSystem.makeFolders(layout.folder, mode: 0o711)
            try FileSystem.makeFolders(layout.records, mode: 0o700)
            return try HeldLock(layout.lock)
        } catch {
            throw AddonError(.serverDown, "the add-ons' folder cannot be used on the server")
        }
    }

    /// The add-on called `name`; nil when there is none (or the name is not valid).
    func load(_ name: String) throws(AddonError) -> AddonRecord? {
        guard AddonNames.isValid(name) else { return nil }
        let bytes: Data?
        do throws(SystemError) { bytes = try FileSystem.read(layout.record(name)) } catch {
            throw AddonError(.serverDown, "the add-on \(name)'s record cannot be read")
        }
        guard let bytes else { return nil }
        do { return try Self.decoder.decode(AddonRecord.self, from: bytes) } catch {
            throw AddonError(.failed, "the add-on \(name)'s record is damaged: the operator checks it")
        }
    }

    /// Every add-on, by name.
    func all() -> [AddonRecord] {
        let names = (try? FileSystem.names(in: layout.records)) ?? []
        return names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
            .compactMap { try? load($0) }
    }

    func save(_ record: AddonRecord) throws(AddonError) {
        do {
            try DurableFile.replace(layout.record(record.name), with: try Self.encoder.encode(record), mode: 0o600)
        } catch {
            throw AddonError(.serverDown, "the add-on \(record.name)'s record cannot be written")
        }
    }

    func remove(_ name: String) throws(AddonError) {
        guard unlink(layout.record(name)) == 0 || errno == ENOENT else {
            throw AddonError(.serverDown, "the add-on \(name)'s record cannot be removed")
        }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
