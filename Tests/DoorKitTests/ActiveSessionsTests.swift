import NIOEmbedded
import SlipwayDoorKit
import Testing

/// What a door's shutdown waits for: a session is over only when its child has exited and its client has gone, so
/// the child's last output (git's report of the refs) is never cut off by the event loops shutting down.
@Suite struct ActiveSessionsTests {
    @Test func aSessionLastsUntilItsChildExitedAndItsClientWent() throws {
        let sessions = ActiveSessions()
        let connection = EmbeddedChannel()
        let session = sessions.add(1_234_567, connection: connection)
        #expect(sessions.count == 1 && sessions.running == 1)

        sessions.exited(session)
        #expect(sessions.count == 1, "the answer may still be on its way to the client")
        #expect(sessions.running == 0, "an exited child is never signalled again")

        _ = try connection.finish()
        #expect(sessions.count == 0)
    }

    @Test func aClientThatWentLeavesTheSessionRunningUntilItsChildExits() throws {
        let sessions = ActiveSessions()
        let connection = EmbeddedChannel()
        let session = sessions.add(1_234_567, connection: connection)
        _ = try connection.finish()
        #expect(sessions.count == 1 && sessions.running == 1, "a webhook's build goes on after its answer")
        sessions.exited(session)
        #expect(sessions.count == 0)
    }
}
