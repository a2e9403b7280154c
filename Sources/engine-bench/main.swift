// The engine's throughput on a generated stream: `swift run -c release engine-bench [events]`.
//
// The stream imitates a busy host: 20 containers, each a process tree of a few hundred processes
// over its life (exec, fork and exit), mostly system calls and TCP, some file opens and captured
// calls (removals, renames, modes, sockets), and now and then something a stock rule catches. It is generated in memory first, so the timing covers the
// engine alone: table updates, the rule index, condition evaluation and alert rendering. A second
// figure covers replay from JSON lines (decoding included), as `sentinel --replay` does it.

import Engine
import Rules
import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

let eventCount = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 1_000_000 : 1_000_000
/// Rule directories or files after the count: the stock rules without them (with imported Falco
/// rules: `engine-bench 1000000 rules /tmp/falco`).
let rulesPaths = CommandLine.arguments.count > 2 ? Array(CommandLine.arguments.dropFirst(2)) : ["rules"]

func generateStream(count: Int) -> [Event] {
    var random = SplitMix64(seed: 42)
    var events: [Event] = []
    events.reserveCapacity(count + 64)
    var time: UInt64 = 1_795_341_600_000_000_000
    let images = ["nginx:1.27", "mariadb:11.4", "redis:7", "node:22", "python:3.12"]
    let programs: [(exe: String, args: [String])] = [
        ("/usr/bin/python3", ["python3", "worker.py", "--queue", "default"]), ("/bin/sh", ["sh", "-c", "date"]),
        ("/usr/bin/curl", ["curl", "-s", "http://api.internal/health"]), ("/usr/bin/find", ["find", "/var/cache", "-mtime", "+7"]),
        ("/usr/sbin/logrotate", ["logrotate", "/etc/logrotate.conf"]), ("/usr/bin/whoami", ["whoami"]),
        ("/usr/bin/gzip", ["gzip", "-9", "/var/log/app.log.1"]), ("/bin/cat", ["cat", "/etc/hostname"]),
    ]
    let containers = (0..<20).map { index -> String in
        let hex = String(index, radix: 16)
        return String(repeating: "a", count: 63 - hex.count) + "f" + hex
    }
    var live: [[Int64]] = Array(repeating: [], count: containers.count)
    var nextPID: Int64 = 1000
    for (index, id) in containers.enumerated() {
        events.append(Event(type: .container, time: time, pid: 0, containerID: id,
                            payload: .container(ContainerFacts(name: "service-\(index)", image: images[index % images.count]))))
        let root = nextPID
        nextPID += 1
        events.append(Event(type: .clone, time: time, pid: root, ppid: 1, containerID: id))
        events.append(Event(type: .execve, time: time, pid: root, ppid: 1, containerID: id,
                            process: ProcessFacts(exePath: "/usr/sbin/nginx", args: ["nginx", "-g", "daemon off;"], uid: 0)))
        live[index] = [root]
        for _ in 0..<14 {
            let pid = nextPID
            nextPID += 1
            events.append(Event(type: .clone, time: time, pid: pid, ppid: root, containerID: id, process: ProcessFacts(uid: 33)))
            live[index].append(pid)
        }
    }
    let address = IPAddress("172.17.0.2")!
    let servers = [IPAddress("10.0.0.5")!, IPAddress("10.0.0.6")!, IPAddress("93.184.216.34")!]
    let ports: [UInt16] = [443, 5432, 6379, 80, 8443, 4444]
    while events.count < count {
        time += 1_000
        let container = random.below(containers.count)
        let pids = live[container]
        let pid = pids[random.below(pids.count)]
        let roll = random.below(1000)
        switch roll {
        case 0..<550:
            events.append(Event(type: .syscall, time: time, pid: pid, tid: pid, payload: .syscall(number: Int64(random.below(300)))))
        case 550..<600:
            events.append(capturedCall(&random, time: time, pid: pid))
        case 600..<700:
            let port = ports[random.below(ports.count - 1) + (random.below(200) == 0 ? 1 : 0)]
            events.append(Event(type: .connect, time: time, pid: pid, payload: .socket(Connection(
                direction: .outbound, source: Endpoint(address: address, port: UInt16(30000 + random.below(30000))),
                destination: Endpoint(address: servers[random.below(servers.count)], port: port)))))
        case 700..<780:
            events.append(Event(type: .accept, time: time, pid: pid, payload: .socket(Connection(
                direction: .inbound, source: Endpoint(address: servers[random.below(servers.count)], port: UInt16(30000 + random.below(30000))),
                destination: Endpoint(address: address, port: 80)))))
        case 780..<850:
            events.append(Event(type: .close, time: time, pid: pid, payload: .socket(Connection(
                direction: .inbound, source: Endpoint(address: servers[0], port: 40000), destination: Endpoint(address: address, port: 80),
                traffic: Traffic(bytesIn: 512, bytesOut: 4096, segmentsIn: 4, segmentsOut: 5)))))
        case 850..<950:
            let paths = ["/var/www/index.html", "/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/var/log/app.log", "/tmp/upload.bin"]
            let path = paths[random.below(paths.count)]
            let flags: OpenFlags = path.hasPrefix("/var/log") || path.hasPrefix("/tmp") ? [.writeOnly, .create, .append] : [.closeOnExec]
            events.append(Event(type: .openat, time: time, pid: pid, payload: .open(path: path, flags: flags, result: 5)))
        default:
            // A short-lived child: fork, exec, exit. Keeps a few hundred processes alive per run.
            let child = nextPID
            nextPID += 1
            let program = programs[random.below(programs.count)]
            let id = containers[container]
            events.append(Event(type: .clone, time: time, pid: child, ppid: pid, containerID: id))
            events.append(Event(type: .execve, time: time, pid: child, ppid: pid, containerID: id,
                                process: ProcessFacts(exePath: program.exe, args: program.args, uid: 33)))
            events.append(Event(type: .procexit, time: time, pid: child, payload: .exit(status: 0)))
        }
    }
    return events
}

/// A captured call of the kinds the stock rules read: temporary files removed and renamed, a mode
/// set, a socket opened, now and then a setuid.
func capturedCall(_ random: inout SplitMix64, time: UInt64, pid: Int64) -> Event {
    let call: (name: String, values: [UInt64], texts: [String?])
    switch random.below(10) {
    case 0..<4: call = ("unlinkat", [UInt64(bitPattern: -100), 0, 0], [nil, "/tmp/upload-\(random.below(100_000))", nil])
    case 4..<7: call = ("renameat2", [UInt64(bitPattern: -100), 0, UInt64(bitPattern: -100), 0, 0], [nil, "/var/log/app.log", nil, "/var/log/app.log.1", nil])
    case 7: call = ("fchmodat", [UInt64(bitPattern: -100), 0, 0o644], [nil, "/var/www/index.html", nil])
    case 8: call = ("socket", [2, 1, 0], [nil, nil, nil])
    default: call = ("setuid", [33], [nil])
    }
    return Event(type: EventType(name: call.name)!, time: time, pid: pid, payload: .call(CallArguments(values: call.values, texts: call.texts, result: 0)))
}

func now() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

let ruleSet: RuleSet
let loadStart = now()
do {
    ruleSet = try RuleLoader.load(paths: rulesPaths)
} catch {
    print(error)
    exit(2)
}
let loadSeconds = now() - loadStart

let events = generateStream(count: eventCount)
var typeCounts: [EventType: Int] = [:]
for event in events { typeCounts[event.type, default: 0] += 1 }
print("stream: \(events.count) events; " + EventType.allCases.compactMap { type in typeCounts[type].map { "\(type.name) \($0)" } }.joined(separator: ", "))
print("rules: \(ruleSet.rules.count) rules from \(rulesPaths.joined(separator: ", ")), read and compiled in \(Int(loadSeconds * 1000)) ms")

// Engine alone, three runs on fresh engines; the best is reported (the others are noise on a shared machine).
var best = Double.infinity
var alerts = 0
for _ in 0..<3 {
    let engine = Engine(rules: ruleSet.rules.map(\.freshCopy))
    var fired = 0
    // The events are copied before the clock starts and moved into the engine, as a sensor hands
    // them over: the timing is the engine's, not the copying of the stream.
    let stream = UnsafeMutablePointer<Event>.allocate(capacity: events.count)
    stream.initialize(from: events, count: events.count)
    let start = now()
    for index in 0..<events.count { engine.process((stream + index).move()) { _ in fired += 1 } }
    best = min(best, now() - start)
    stream.deallocate()
    alerts = fired
}
print("engine: \(Int(Double(events.count) / best)) events/s, \(String(format2(best / Double(events.count) * 1e9))) ns/event, \(alerts) alerts")

// Replay from JSON lines: encode once, then decode and judge line by line as --replay does.
// ENGINE_ONLY=1 leaves it out, for a profile of the engine alone (perf record).
if getenv("ENGINE_ONLY") != nil { exit(0) }
let lines = events.map { Array(EventCodec.encode($0).utf8) }
var replayBest = Double.infinity
for _ in 0..<2 {
    let engine = Engine(rules: ruleSet.rules.map(\.freshCopy))
    var delivered = 0
    let start = now()
    for (index, line) in lines.enumerated() {
        let diagnostics = Diagnostics()
        if let event = EventCodec.decodeLine(line, file: "bench", line: index + 1, diagnostics: diagnostics) {
            delivered += 1
            engine.process(event) { _ in }
        }
    }
    replayBest = min(replayBest, now() - start)
    precondition(delivered == events.count)
}
print("replay (JSON decoding + engine): \(Int(Double(events.count) / replayBest)) events/s, \(format2(replayBest / Double(events.count) * 1e9)) ns/event")

func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
}
