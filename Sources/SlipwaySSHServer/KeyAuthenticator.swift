import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSH
import SlipwayDoorRecords
import SlipwayReceive

#if canImport(Glibc)
    import Glibc
#endif

/// The keys of the authorized_keys file that `receive-pack keys` maintains, read again whenever the file changes, so
/// `keys add` and `keys remove` take effect for the next connection without a restart.
final class AuthorizedKeyStore: Sendable {
    private struct Snapshot {
        var identity: [Int] = []
        var entries: [AuthorizedKeyEntry] = []
    }

    private let file: AuthorizedKeys
    private let snapshot = NIOLockedValueBox(Snapshot())

    init(path: String) {
        file = AuthorizedKeys(path: path, receivePackPath: "/", root: "/")
    }

    /// The user `key` belongs to, nil when no line of the file holds it.
    func user(for key: PublicKey) -> String? {
        entries().first { $0.key.sameKey(as: key) }?.user
    }

    /// Every entry, re-read when the file's inode, size or modification time changed.
    func entries() -> [AuthorizedKeyEntry] {
        var st = stat()
        let identity =
            stat(file.path, &st) == 0
            ? [Int(st.st_ino), Int(st.st_size), Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)] : []
        return snapshot.withLockedValue { current in
            if current.identity != identity || identity.isEmpty {
                current = Snapshot(identity: identity, entries: (try? file.list()) ?? [])
            }
            return current.entries
        }
    }
}

/// What one connection has done so far: who it authenticated as, its failures, and what it offered. Shared by the
/// connection's authentication delegate, its sessions and its log line; touched from the connection's event loop.
final class ConnectionState: Sendable {
    struct Values {
        var user: String?
        var fingerprint: String?
        var failures = 0
        var publicKeyAttempts = 0
        var refusedFingerprints: [String] = []
        var sessions = 0
        /// Session channels open now.
        var open = 0
    }

    let remote: String
    let opened = ContinuousClock.now
    private let box = NIOLockedValueBox(Values())

    init(remote: String) { self.remote = remote }

    var values: Values { box.withLockedValue { $0 } }

    func update(_ change: (inout Values) -> Void) { box.withLockedValue { change(&$0) } }

    /// Why authentication did not succeed, for the log: the server cannot tell the client (swift-nio-ssh answers an
    /// RSA offer itself, before the server sees it), so the operator gets the reason.
    var refusalReason: String {
        let values = self.values
        if values.publicKeyAttempts == 0 {
            return "no key the built-in server can verify was offered (it accepts ed25519 and ECDSA keys; RSA keys"
                + " work through OpenSSH only)"
        }
        return "key \(values.refusedFingerprints.joined(separator: ", ")) is not in authorized_keys"
    }
}

/// Authenticates a connection by public key against the authorized_keys file: the user is the one named in the
/// key's forced command. No passwords, no keyboard-interactive, no "none".
///
/// swift-nio-ssh checks the signature before asking; an offer of a key type it cannot verify (RSA, security keys)
/// is refused without reaching this delegate.
final class KeyAuthenticator: NIOSSHServerUserAuthenticationDelegate {
    let keys: AuthorizedKeyStore
    let state: ConnectionState
    let maxFailures: Int
    let onTooManyFailures: () -> Void

    init(keys: AuthorizedKeyStore, state: ConnectionState, maxFailures: Int, onTooManyFailures: @escaping () -> Void) {
        self.keys = keys
        self.state = state
        self.maxFailures = maxFailures
        self.onTooManyFailures = onTooManyFailures
    }

    var supportedAuthenticationMethods: NIOSSHAvailableUserAuthenticationMethods { .publicKey }

    func requestReceived(
        request: NIOSSHUserAuthenticationRequest, responsePromise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>
    ) {
        switch request.request {
        case .none:
            // Every client starts by asking whether no authentication will do; it is not counted as a failure.
            responsePromise.succeed(.failure)
        case .publicKey(let offer):
            let line = String(openSSHPublicKey: offer.publicKey)
            let key = try? PublicKey(parsing: line)
            if let key, let user = keys.user(for: key) {
                state.update {
                    $0.user = user
                    $0.fingerprint = key.fingerprint
                }
                responsePromise.succeed(.success)
            } else {
                state.update {
                    $0.publicKeyAttempts += 1
                    $0.refusedFingerprints.append(key?.fingerprint ?? "(unreadable)")
                }
                fail(responsePromise)
            }
        default:
            fail(responsePromise)
        }
    }

    private func fail(_ promise: EventLoopPromise<NIOSSHUserAuthenticationOutcome>) {
        var failures = 0
        state.update {
            $0.failures += 1
            failures = $0.failures
        }
        promise.succeed(.failure)
        if failures >= maxFailures { onTooManyFailures() }
    }
}
