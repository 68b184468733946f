import Foundation
public import SlipwaySystem

/// Keeps the add-on servers of one root running (`receive-pack addons-supervisor`): every second it looks whether
/// each server that was made is running, and starts the ones that are not (a crash, a reboot, a kill). The servers
/// run detached, so they outlive the supervisor; a new supervisor adopts them (it finds them running) rather than
/// starting others.
public struct AddonSupervisor {
    let root: String
    /// Printed lines (what was started, what failed).
    let say: (String) -> Void

    public init(root: String, say: @escaping (String) -> Void) {
        self.root = root
        self.say = say
    }

    /// One look: starts what is not running.
    public func check() {
        if let redis = try? RedisServers(root: root) {
            for addon in redis.names() where redis.runningPID(addon) == nil {
                do {
                    if try redis.startIfStopped(addon) {
                        say("addons-supervisor: started the Redis server of \(addon) again (it was not running)")
                    }
                } catch {
                    say("addons-supervisor: the Redis server of \(addon) did not start: \(error)")
                }
            }
        }
        guard let cluster = try? PostgresCluster(root: root), cluster.settings() != nil else { return }
        guard !cluster.isRunning() else {
            do { try cluster.syncHostRules() } catch {
                say(
                    "addons-supervisor: the PostgreSQL cluster's client rules could not be brought up to date: \(error)"
                )
            }
            return
        }
        do {
            try cluster.ensureRunning()
            say("addons-supervisor: started the PostgreSQL cluster again (it was not running)")
        } catch {
            say("addons-supervisor: the PostgreSQL cluster did not start: \(error)")
        }
    }

    /// Looks every `interval` until `signals` reports a stopping signal (SIGTERM, SIGINT, SIGHUP).
    public func run(signals: SignalWatcher, interval: Duration = .seconds(1)) {
        say("addons-supervisor: watching the add-on servers of \(root)")
        while signals.poll() == nil {
            check()
            let deadline = ContinuousClock.now + interval
            while ContinuousClock.now < deadline, signals.poll() == nil { usleep(50_000) }
        }
        say("addons-supervisor: stopped (the add-on servers keep running)")
    }
}
