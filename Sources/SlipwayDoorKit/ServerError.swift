import Foundation

/// Why a door (the built-in SSH server, the HTTP door) could not start or go on: one line that names the problem and the fix.
public struct ServerError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }

}
