// The http output's throughput: `outputs-bench URL [ALERTS] [BATCH]` dispatches ALERTS alerts
// (default 100,000) of the demo's shape as fast as the dispatcher takes them, to an http output
// with BATCH alerts per request at most (default 100; 1 sends each alone), and prints the alerts
// per second from the first dispatch until every alert was delivered or given up. bench/http-output
// runs it against a local receiver.
//
// What a dead output costs: `outputs-bench --blocked [ALERTS] [ROUNDS]` dispatches ALERTS alerts
// (default 1,000,000) to two outputs: a file (/dev/null) beside a second file, then beside an
// output whose every write blocks forever, in turn ROUNDS times (default 5), and prints, as
// medians of the rounds' ratios, how fast the engine's thread hands alerts over (the event path)
// and how fast the first file writes them, with one output blocked against none.

import Dispatch
import Engine
import Outputs

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments

func demoAlert(_ index: Int) -> Alert {
    Alert(time: 1_795_341_600_000_000_000 + UInt64(index), rule: "Sensitive file read in container", priority: .warning,
          output: "Sensitive file opened for reading (file=/etc/shadow user=root container=shop-web image=nginx:1.27 cmdline=cat /etc/shadow)",
          outputFields: [Alert.Field(name: "fd.name", value: .string("/etc/shadow")), Alert.Field(name: "proc.pid", value: .number(Int64(index))),
                         Alert.Field(name: "container.id", value: .string("3f2a9c1b7d4e")), Alert.Field(name: "container.name", value: .string("shop-web"))],
          tags: ["container", "filesystem", "mitre_credential_access"], source: "syscall")
}

/// An output that never returns from a write: a collector that accepted the connection and hung.
final class BlockedSink: AlertSink {
    let label = "blocked"
    func write(_ alert: Alert) throws { DispatchSemaphore(value: 0).wait() }
    func reopen() throws {}
    func flush() {}
}

if arguments.count >= 2 && arguments[1] == "--blocked" {
    let count = arguments.count > 2 ? Int(arguments[2]) ?? 1_000_000 : 1_000_000
    let rounds = arguments.count > 3 ? Int(arguments[3]) ?? 5 : 5
    let alerts = (0..<count).map(demoAlert)
    /// Seconds to hand every alert over, and until the file output wrote them all.
    func run(blocked: Bool) throws -> (dispatch: Double, written: Double) {
        let file = try FileSink(path: "/dev/null")
        let second: AlertSink = blocked ? BlockedSink() : try FileSink(path: "/dev/null")
        let sinks: [(sink: AlertSink, filter: AlertFilter)] = [(file, AlertFilter()), (second, AlertFilter())]
        // The queues hold them all: the figure is the path's speed, not the queue's limit; the
        // blocked output's queue fills with all of them, as it would in a long outage.
        let dispatcher = AlertDispatcher(sinks: sinks, capacity: count)
        let start = monotonicSeconds()
        for alert in alerts { dispatcher.dispatch(alert) }
        let dispatched = monotonicSeconds()
        while dispatcher.statistics[0].delivered < UInt64(count) { usleep(1_000) }
        return (dispatched - start, monotonicSeconds() - start)
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    var dispatchRatios: [Double] = [], writeRatios: [Double] = []
    for round in 1...rounds {
        let free = try run(blocked: false)
        let blocked = try run(blocked: true)
        dispatchRatios.append(free.dispatch / blocked.dispatch)
        writeRatios.append(free.written / blocked.written)
        print("round \(round): handed over in \(free.dispatch) s, \(blocked.dispatch) s with one output blocked; the first file written in \(free.written) s, \(blocked.written) s")
    }
    print("one output blocked, against none (rates, medians of \(rounds)): the event path \((median(dispatchRatios) * 1000).rounded() / 1000)x, "
          + "the file output \((median(writeRatios) * 1000).rounded() / 1000)x")
    exit(0)
}

guard arguments.count >= 2 else {
    print("usage: outputs-bench URL [ALERTS] [BATCH]")
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
let batch = arguments.count > 3 ? Int(arguments[3]) ?? 100 : 100

var spec = HTTPSink.Spec(url: arguments[1])
spec.batchSize = batch
let sink = try spec.open()
// A queue that holds them all: the figure is the output's speed, not the queue's limit.
let dispatcher = AlertDispatcher(sinks: [(sink, AlertFilter())], capacity: count) { print("error: \($0)") }

let alerts = (0..<count).map(demoAlert)

let start = monotonicSeconds()
for alert in alerts { dispatcher.dispatch(alert) }
let drained = dispatcher.drain(timeout: 600)
let seconds = monotonicSeconds() - start
let statistics = dispatcher.statistics[0]
print("http output, at most \(batch) alerts a request: \(count) alerts in \((seconds * 1000).rounded() / 1000) s: "
      + "\(Int(Double(count) / seconds)) alerts/s; delivered \(statistics.delivered), failed \(statistics.failed), dropped \(statistics.dropped)"
      + (drained ? "" : " (not drained)"))
exit(statistics.delivered == count && drained ? 0 : 1)
