import Foundation
import Testing
import Engine
import Outputs

/// Real programs through /bin/sh, as a user's config runs them.
@Suite struct ProgramSinkTests {
    let directory: String
    init() throws { directory = try temporaryDirectory() }

    private func lines(_ name: String) -> [String] {
        ((try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func keptAliveOneProgramReadsEveryAlert() throws {
        let sink = ProgramSink(ProgramSink.Spec(command: "cat >> \(directory)/out", format: .text, keepAlive: true))
        for rule in ["a", "b", "c"] { try sink.write(sampleAlert(output: "alert \(rule)", rule: rule)) }
        sink.flush()
        #expect(lines("out") == ["a", "b", "c"].map { AlertRendering.text(sampleAlert(output: "alert \($0)")) })
        #expect(sink.starts == 1)
    }

    @Test func aKeptAliveProgramThatDiesIsStartedAgainAndTheAlertRetried() throws {
        let sink = ProgramSink(ProgramSink.Spec(command: "echo $$ > \(directory)/pid; exec cat >> \(directory)/out", keepAlive: true))
        let dispatcher = AlertDispatcher(sinks: [(sink, AlertFilter())], retryDelays: [0.01, 0.01])
        dispatcher.dispatch(sampleAlert(rule: "before"))
        #expect(waitUntil(5) { lines("out").count == 1 })
        let pid = try #require(lines("pid").first.flatMap { pid_t($0) })
        kill(pid, SIGKILL)
        #expect(waitUntil(5) { (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.contains(") Z ") == true })
        dispatcher.dispatch(sampleAlert(rule: "after"))
        #expect(dispatcher.drain(timeout: 10))
        #expect(lines("out").map { $0.contains(#""rule":"before""#) } == [true, false])
        #expect(lines("out").last?.contains(#""rule":"after""#) == true, "the alert whose write found the pipe broken is written to the new program")
        #expect(sink.starts == 2)
        #expect(dispatcher.statistics[0].delivered == 2 && dispatcher.statistics[0].failed == 0)
    }

    @Test func withoutKeepAliveEachAlertStartsTheProgram() throws {
        let sink = ProgramSink(ProgramSink.Spec(command: "cat >> \(directory)/out"))
        for rule in ["a", "b", "c"] { try sink.write(sampleAlert(rule: rule)) }
        #expect(lines("out").count == 3)
        #expect(sink.starts == 3)
    }

    @Test func aProgramThatFailsFailsTheAlert() {
        let sink = ProgramSink(ProgramSink.Spec(command: "cat > /dev/null; exit 3"))
        let dispatcher = AlertDispatcher(sinks: [(sink, AlertFilter())], retryDelays: [0.01])
        dispatcher.dispatch(sampleAlert())
        #expect(waitUntil(10) { sink.starts >= 2 }, "tried, then tried again")
        #expect(dispatcher.drain(timeout: 10))
        #expect(dispatcher.statistics[0].failed == 1)
        #expect(throws: SystemError.self) { try sink.write(sampleAlert()) }
    }

    @Test func aProgramThatDoesNotExitIsKilledAtItsTimeout() {
        let sink = ProgramSink(ProgramSink.Spec(command: "exec sleep 30", timeoutSeconds: 1))
        let start = Date()
        do {
            try sink.write(sampleAlert())
            Issue.record("a program that outlives its timeout fails the write")
        } catch {
            #expect("\(error)".contains("did not exit within 1 s of its input closing; killed"))
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
