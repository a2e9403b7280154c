// The http output's throughput: `outputs-bench URL [ALERTS] [BATCH]` dispatches ALERTS alerts
// (default 100,000) of the demo's shape as fast as the dispatcher takes them, to an http output
// with BATCH alerts per request at most (default 100; 1 sends each alone), and prints the alerts
// per second from the first dispatch until every alert was delivered or given up. bench/http-output
// runs it against a local receiver.

import Dispatch
import Engine
import Outputs

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
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

let alerts = (0..<count).map { index in
    Alert(time: 1_795_341_600_000_000_000 + UInt64(index), rule: "Sensitive file read in container", priority: .warning,
          output: "Sensitive file opened for reading (file=/etc/shadow user=root container=shop-web image=nginx:1.27 cmdline=cat /etc/shadow)",
          outputFields: [Alert.Field(name: "fd.name", value: .string("/etc/shadow")), Alert.Field(name: "proc.pid", value: .number(Int64(index))),
                         Alert.Field(name: "container.id", value: .string("3f2a9c1b7d4e")), Alert.Field(name: "container.name", value: .string("shop-web"))],
          tags: ["container", "filesystem", "mitre_credential_access"], source: "syscall")
}

var start = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
for alert in alerts { dispatcher.dispatch(alert) }
let drained = dispatcher.drain(timeout: 600)
var end = timespec()
clock_gettime(CLOCK_MONOTONIC, &end)
let seconds = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
let statistics = dispatcher.statistics[0]
print("http output, at most \(batch) alerts a request: \(count) alerts in \((seconds * 1000).rounded() / 1000) s: "
      + "\(Int(Double(count) / seconds)) alerts/s; delivered \(statistics.delivered), failed \(statistics.failed), dropped \(statistics.dropped)"
      + (drained ? "" : " (not drained)"))
exit(statistics.delivered == count && drained ? 0 : 1)
