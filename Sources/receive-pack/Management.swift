import ArgumentParser
import SlipwayReceive

/// Names a management command of the library's table, so that ``Managed`` can offer it as a subcommand.
protocol ManagementCommandName {
    static var name: String { get }
}

/// `receive-pack <command> [--root <dir>] …`: one of the management commands the SSH door serves, run by the
/// operator on the server with full rights. Arguments and options go to the library's table unchanged.
struct Managed<Command: ManagementCommandName>: ParsableCommand {
    static var configuration: CommandConfiguration {
        let command = ManagementCommands.named(Command.name)
        return CommandConfiguration(
            commandName: Command.name, abstract: command?.summary ?? "",
            usage: "receive-pack \(command?.usage ?? Command.name) [--root <dir>]")
    }

    @OptionGroup var root: RootOption
    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("The command's arguments (see the usage line).", valueName: "arguments"))
    var arguments: [String] = []

    func run() throws {
        throw ExitCode(ManagementCommands.runLocal(Command.name, arguments: arguments, root: root.resolved))
    }
}

/// The management commands the operator can run locally, in `help`'s order.
enum AppsInfo: ManagementCommandName { static let name = "apps:info" }
enum AppsSet: ManagementCommandName { static let name = "apps:set" }
enum BuildpacksList: ManagementCommandName { static let name = "buildpacks" }
enum BuildpacksSet: ManagementCommandName { static let name = "buildpacks:set" }
enum BuildpacksClear: ManagementCommandName { static let name = "buildpacks:clear" }
enum ConfigShow: ManagementCommandName { static let name = "config" }
enum ConfigGet: ManagementCommandName { static let name = "config:get" }
enum ConfigSet: ManagementCommandName { static let name = "config:set" }
enum ConfigUnset: ManagementCommandName { static let name = "config:unset" }
enum Ps: ManagementCommandName { static let name = "ps" }
enum PsScale: ManagementCommandName { static let name = "ps:scale" }
enum PsResize: ManagementCommandName { static let name = "ps:resize" }
enum PsDisk: ManagementCommandName { static let name = "ps:disk" }
enum PsRestart: ManagementCommandName { static let name = "ps:restart" }
enum PsStop: ManagementCommandName { static let name = "ps:stop" }
enum PsAutoscale: ManagementCommandName { static let name = "ps:autoscale" }
enum PsAutoscaleDisable: ManagementCommandName { static let name = "ps:autoscale:disable" }
enum Metrics: ManagementCommandName { static let name = "metrics" }
enum Run: ManagementCommandName { static let name = "run" }
enum Domains: ManagementCommandName { static let name = "domains" }
enum DomainsAdd: ManagementCommandName { static let name = "domains:add" }
enum DomainsRemove: ManagementCommandName { static let name = "domains:remove" }
enum Addons: ManagementCommandName { static let name = "addons" }
enum AddonsCreate: ManagementCommandName { static let name = "addons:create" }
enum AddonsInfo: ManagementCommandName { static let name = "addons:info" }
enum AddonsAttach: ManagementCommandName { static let name = "addons:attach" }
enum AddonsDetach: ManagementCommandName { static let name = "addons:detach" }
enum AddonsDestroy: ManagementCommandName { static let name = "addons:destroy" }
enum PgBackupsCapture: ManagementCommandName { static let name = "pg:backups:capture" }
enum PgBackups: ManagementCommandName { static let name = "pg:backups" }
enum PgBackupsRestore: ManagementCommandName { static let name = "pg:backups:restore" }
enum PgPsql: ManagementCommandName { static let name = "pg:psql" }
enum RedisCli: ManagementCommandName { static let name = "redis:cli" }
enum Certs: ManagementCommandName { static let name = "certs" }
enum CertsAdd: ManagementCommandName { static let name = "certs:add" }
enum CertsRemove: ManagementCommandName { static let name = "certs:remove" }
enum CertsAuto: ManagementCommandName { static let name = "certs:auto" }
enum CertsAutoDisable: ManagementCommandName { static let name = "certs:auto:disable" }
enum Drains: ManagementCommandName { static let name = "drains" }
enum DrainsAdd: ManagementCommandName { static let name = "drains:add" }
enum DrainsRemove: ManagementCommandName { static let name = "drains:remove" }
enum Releases: ManagementCommandName { static let name = "releases" }
enum ReleasesInfo: ManagementCommandName { static let name = "releases:info" }
enum Rollback: ManagementCommandName { static let name = "rollback" }
enum Builds: ManagementCommandName { static let name = "builds" }
enum BuildsOutput: ManagementCommandName { static let name = "builds:output" }
enum BuildsCancel: ManagementCommandName { static let name = "builds:cancel" }
enum CachePurge: ManagementCommandName { static let name = "cache:purge" }
enum Logs: ManagementCommandName { static let name = "logs" }
enum Webhooks: ManagementCommandName { static let name = "webhooks" }
enum WebhooksAdd: ManagementCommandName { static let name = "webhooks:add" }
enum WebhooksRemove: ManagementCommandName { static let name = "webhooks:remove" }
enum WebhooksDeliveries: ManagementCommandName { static let name = "webhooks:deliveries" }
enum AppsWebhook: ManagementCommandName { static let name = "apps:webhook" }
enum AppsDeployKey: ManagementCommandName { static let name = "apps:deploy-key" }

let managementSubcommands: [ParsableCommand.Type] = [
    Managed<AppsInfo>.self, Managed<AppsSet>.self, Managed<BuildpacksList>.self, Managed<BuildpacksSet>.self,
    Managed<BuildpacksClear>.self, Managed<ConfigShow>.self, Managed<ConfigGet>.self, Managed<ConfigSet>.self,
    Managed<ConfigUnset>.self, Managed<Ps>.self, Managed<PsScale>.self, Managed<PsResize>.self, Managed<PsDisk>.self,
    Managed<PsRestart>.self, Managed<PsStop>.self, Managed<PsAutoscale>.self, Managed<PsAutoscaleDisable>.self,
    Managed<Metrics>.self, Managed<Run>.self, Managed<Domains>.self, Managed<DomainsAdd>.self,
    Managed<DomainsRemove>.self, Managed<Addons>.self, Managed<AddonsCreate>.self, Managed<AddonsInfo>.self,
    Managed<AddonsAttach>.self, Managed<AddonsDetach>.self, Managed<AddonsDestroy>.self, Managed<PgBackupsCapture>.self,
    Managed<PgBackups>.self, Managed<PgBackupsRestore>.self, Managed<PgPsql>.self, Managed<RedisCli>.self,
    Managed<Certs>.self, Managed<CertsAdd>.self, Managed<CertsRemove>.self,
    Managed<CertsAuto>.self, Managed<CertsAutoDisable>.self, Managed<Drains>.self, Managed<DrainsAdd>.self,
    Managed<DrainsRemove>.self, Managed<Releases>.self, Managed<ReleasesInfo>.self,
    Managed<Rollback>.self,
    Managed<Builds>.self, Managed<BuildsOutput>.self, Managed<BuildsCancel>.self, Managed<CachePurge>.self,
    Managed<Logs>.self, Managed<Webhooks>.self, Managed<WebhooksAdd>.self, Managed<WebhooksRemove>.self,
    Managed<WebhooksDeliveries>.self, Managed<AppsWebhook>.self, Managed<AppsDeployKey>.self,
]
