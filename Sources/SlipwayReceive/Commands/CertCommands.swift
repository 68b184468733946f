import SlipwayCerts
import SlipwaySpool
import SlipwaySystem

/// `certs`, `certs:add`, `certs:remove`, `certs:auto`, `certs:auto:disable`: an app's HTTPS (docs/https.md).
extension ManagementCommands {
    static let certCommands = [
        ManagementCommand(
            "certs", "<app>", "List the app's host names with their certificate's state, issuer and expiry.",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            let certificates = runnerState(run, app.name)?.certificates
            CertificateBundle.certsOutput(app: app.name, certificates, try dynoSettings(run, app.name)).forEach(run.out)
        },
        ManagementCommand(
            "certs:add", "<app> [<cert> <key>]",
            "Install the app's own certificate for its domains: PEM chain and key on stdin (or files, on the server).",
            arity: 1...3
        ) { run in
            let (app, _) = try run.app()
            let installed: CertificateBundle.Installed
            do {
                let (chain, key) = try CertificateBundle.given(
                    run.arguments, byOperator: run.actor == .serverOperator, stdin: run.context.sessionDescriptors[0])
                installed = try CertificateBundle.install(
                    chain: chain, key: key, app: app.name, domains: try dynoSettings(run, app.name).domains,
                    layout: run.root.layout)
            } catch let refusal as CertificateBundle.Refusal {
                throw DoorError(.invalidValue, "slipway: \(refusal.message)")
            } catch let error as SystemError {
                throw DoorError.storage(error)
            }
            try updateDynoSettings(run, app.name) { $0.certificate = installed.fingerprint }
            run.say(installed.summary)
        },
        ManagementCommand(
            "certs:remove", "<app>", "Take out the app's own certificate (automatic certificates take over).",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            guard try dynoSettings(run, app.name).certificate != nil else {
                throw DoorError(.notFound, "slipway: \(app.name) has no certificate of its own (certs \(app.name))")
            }
            try updateDynoSettings(run, app.name) { $0.certificate = nil }
            CertificateBundle.remove(app: app.name, layout: run.root.layout)
            run.say("Removing \(app.name)'s certificate... done")
        },
        ManagementCommand(
            "certs:auto", "<app>", "Have the router get and renew certificates for the app's names (the default).",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            try updateDynoSettings(run, app.name) { $0.automaticCertificates = nil }
            run.say("Enabling automatic certificates for \(app.name)... done")
        },
        ManagementCommand(
            "certs:auto:disable", "<app>", "Stop getting certificates for the app's names automatically.",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            try updateDynoSettings(run, app.name) { $0.automaticCertificates = false }
            run.say("Disabling automatic certificates for \(app.name)... done (its names answer over HTTP)")
        },
    ]
}
