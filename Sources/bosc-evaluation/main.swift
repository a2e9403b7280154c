// The BoSC evaluation's arithmetic: `bosc-evaluation RUN_DIR...`, each RUN_DIR one repetition
// made by bench/bosc-evaluation with training.jsonl, normal.jsonl, attack.jsonl (recordings of
// the service container's system calls), attack-window (the attack's start and end, in
// nanoseconds since the epoch) and image (the service's image; MariaDB's when there is none).
//
// For each epoch size (1000, 5000, 10000) a profile is trained on training.jsonl three ways: as the
// published algorithm trains (until consecutive epochs are 0.99 alike, cosine, 3 epochs in a row);
// as the bosc rule trains by default (the same, but not before 10 minutes of the run); and on the
// whole training run (as `training_seconds` would, with stability never reached). Then the
// normal and attack runs are judged with no threshold, keeping each epoch's mismatch count and
// the times of its first 51 mismatches. From those, for every threshold from 0 to 50: the share of
// the normal run's epochs flagged; the share of the attack's epochs (those overlapping the attack)
// flagged; whether the attack was flagged (an epoch passed the threshold between the attack's start
// and 2 s after its end); and the seconds from the attack's start to that moment, the alert.

import BoSC
import Engine
import SentinelJSON
import Sensors

#if canImport(Glibc)
import Glibc
#endif

struct Call {
    var time: UInt64
    var pid: Int64
    var thread: Int64
    var number: Int
}

/// A recording's calls of the service's container, and the processes the container runtime
/// brought in from outside (`docker exec`: runc's init, whose parent is on the host), each with
/// when it executed the image's program.
struct Recording {
    var calls: [Call]
    var entered: [Int64: UInt64]

    /// The calls without the runtime's own: an entered process's calls before its exec are
    /// runc's (Go's start-up, timed by the scheduler), and its window starts at the exec.
    var passingOverTheRuntime: [Call] {
        calls.compactMap { call in
            guard let exec = entered[call.pid] else { return call }
            guard call.time >= exec else { return nil }
            var fresh = call
            fresh.thread |= 1 << 40
            return fresh
        }
    }
}

/// One judged epoch: its first and last call's times, mismatches, when each happened, and whether
/// each one's bag held a call training never saw.
struct JudgedEpoch {
    var start: UInt64
    var end: UInt64
    var mismatches: Int
    var mismatchTimes: [UInt64]
    var mismatchUnseen: [Bool]
}

let epochSizes = [1000, 5000, 10_000]
let thresholds = 0...50
let alertGrace: UInt64 = 2_000_000_000

func fail(_ message: String) -> Never {
    print("bosc-evaluation: \(message)")
    exit(2)
}

/// The service's image, when a run does not name it: a recording holds every container's calls, and
/// another container may run.
let defaultImage = "sentinel/mariadb:bookworm"

/// The system calls of the service's container in a recording, in order. Read as a stream: an hour
/// of a busy database is some 20 GB of JSON lines.
func readCalls(_ path: String, image databaseImage: String) -> Recording {
    var calls: [Call] = []
    var database: String?
    var problem: String?
    var containerPIDs: Set<Int64> = []
    var execs: [(pid: Int64, time: UInt64, ppid: Int64)] = []
    let replay = ReplaySensor(path: path) { problem = problem ?? $0.description }
    do {
        try replay.run { event in
            if case .container(let facts) = event.payload, facts.image == databaseImage {
                if database != nil, database != event.containerID { problem = problem ?? "\(path) holds two containers of \(databaseImage)" }
                database = event.containerID
            }
            guard let id = event.containerID, id == database else { return }
            containerPIDs.insert(event.pid)
            if event.type == .execve, let ppid = event.ppid { execs.append((event.pid, event.time, ppid)) }
            guard case .syscall(let number) = event.payload else { return }
            calls.append(Call(time: event.time, pid: event.pid, thread: event.tid, number: Int(number)))
        }
    } catch {
        fail("\(error)")
    }
    if let problem { fail(problem) }
    guard !calls.isEmpty else { fail("\(path) holds no system calls of a \(databaseImage) container") }
    var entered: [Int64: UInt64] = [:]
    for exec in execs where !containerPIDs.contains(exec.ppid) && entered[exec.pid] == nil { entered[exec.pid] = exec.time }
    return Recording(calls: calls, entered: entered)
}

/// How a profile is trained on the training run.
enum Training: CaseIterable {
    case published, defaults, whole

    var name: String {
        switch self {
        case .published: "until stable, as published (min_training_seconds 0)"
        case .defaults: "until stable after 10 minutes (the defaults)"
        case .whole: "on the whole training run"
        }
    }
}

func train(_ calls: [Call], epoch: Int, _ training: Training) -> BoSCProfile {
    var parameters = BoSCParameters()
    parameters.epoch = epoch
    switch training {
    case .published: parameters.minimumTrainingSeconds = 0
    case .defaults: break
    case .whole: parameters.stableEpochs = Int.max
    }
    let trainer = BoSCTrainer(parameters: parameters)
    for call in calls where !trainer.observe(thread: call.thread, call: call.number, time: call.time) {}
    trainer.finish(.endOfInput)
    return BoSCProfile(trainer: trainer, key: .image, value: "evaluation")
}

func judge(_ calls: [Call], profile: BoSCProfile, epoch: Int) -> [JudgedEpoch] {
    var parameters = BoSCParameters()
    parameters.epoch = epoch
    parameters.threshold = 1_000_000_000
    let detector = BoSCDetector(profile: profile, parameters: parameters)
    var epochs: [JudgedEpoch] = []
    let empty = JudgedEpoch(start: 0, end: 0, mismatches: 0, mismatchTimes: [], mismatchUnseen: [])
    var current = empty
    var callsInEpoch = 0
    var unseenSoFar = 0
    for call in calls {
        if callsInEpoch == 0 { current.start = call.time }
        callsInEpoch += 1
        let result = detector.observe(stream: 0, thread: call.thread, call: call.number)
        // A complete verdict has started the next epoch: its own counts are in the result.
        let (mismatches, unseen) = result?.complete == true ? (result!.mismatches, result!.unseenMismatches) : detector.mismatchesSoFar(stream: 0)
        if mismatches > current.mismatches {
            current.mismatchTimes.append(call.time)
            current.mismatchUnseen.append(unseen > unseenSoFar)
            current.mismatches = mismatches
            unseenSoFar = unseen
        }
        guard let result, result.complete else { continue }
        current.end = call.time
        epochs.append(current)
        current = empty
        callsInEpoch = 0
        unseenSoFar = 0
    }
    return epochs
}

/// How an epoch's unknown bags make an alert: the published rule (more than a threshold), and the
/// variants the false alarms of a mixed load asked for.
struct Scoring {
    var name: String
    /// When the epoch's alert goes out, if it does.
    var alert: (JudgedEpoch) -> UInt64?

    /// More than `threshold` unknown bags.
    static func published(_ threshold: Int) -> Scoring {
        Scoring(name: "more than \(threshold) unknown bags") { epoch in
            epoch.mismatchTimes.count > threshold ? epoch.mismatchTimes[threshold] : nil
        }
    }

    /// As the rule's `new_call_threshold` judges: more than `threshold` unknown bags, or more than
    /// `newCallThreshold` holding a call training never saw.
    static func split(_ threshold: Int, newCallThreshold: Int) -> Scoring {
        var parameters = BoSCParameters()
        parameters.threshold = threshold
        parameters.newCallThreshold = newCallThreshold
        return Scoring(name: "more than \(threshold) unknown bags, or more than \(newCallThreshold) with a call never seen") { epoch in
            var unseen = 0
            for (index, (time, isUnseen)) in zip(epoch.mismatchTimes, epoch.mismatchUnseen).enumerated() {
                if isUnseen { unseen += 1 }
                if parameters.isAnomalous(mismatches: index + 1, unseen: unseen) { return time }
            }
            return nil
        }
    }
}

let scorings: [Scoring] = [.published(10), .published(20), .published(50), .published(100)]
    + [10, 20, 50, 100, 200].flatMap { threshold in [0, 2].map { Scoring.split(threshold, newCallThreshold: $0) } }
/// Alerts of one container closer than this to the one before are one episode.
let episodeGap: UInt64 = 60_000_000_000

struct Repetition {
    var normal: [JudgedEpoch]
    var attack: [JudgedEpoch]
    var attackStart: UInt64
    var attackEnd: UInt64
    var trainingEpochs: Int
    var endedBy: String
    var bags: Int
}

/// The results of the defaults' training with the runtime's own calls passed over.
let withoutRuntimeKey = "without the runtime's calls"
let directories = Array(CommandLine.arguments.dropFirst())
guard !directories.isEmpty else { fail("usage: bosc-evaluation RUN_DIR...") }
/// Per training and epoch size: the repetitions.
var results: [String: [Repetition]] = [:]
for directory in directories {
    let image = readWholeFile(directory + "/image").flatMap { String(decoding: $0, as: UTF8.self).split(whereSeparator: \.isWhitespace).first.map(String.init) } ?? defaultImage
    let recordings = ["training", "normal", "attack"].map { readCalls(directory + "/\($0).jsonl", image: image) }
    let (training, normal, attack) = (recordings[0].calls, recordings[1].calls, recordings[2].calls)
    guard let window = readWholeFile(directory + "/attack-window").map({ String(decoding: $0, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) } }),
          window.count == 2 else { fail("\(directory)/attack-window must hold the attack's start and end in nanoseconds") }
    print("\(directory): \(training.count) training calls, \(normal.count) normal, \(attack.count) in the attack run; "
          + "processes the runtime brought in: \(recordings.map { String($0.entered.count) }.joined(separator: ", "))")
    func evaluate(_ training: [Call], _ normal: [Call], _ attack: [Call], way: Training, epoch: Int) -> Repetition {
        let profile = train(training, epoch: epoch, way)
        return Repetition(normal: judge(normal, profile: profile, epoch: epoch), attack: judge(attack, profile: profile, epoch: epoch),
                          attackStart: window[0], attackEnd: window[1], trainingEpochs: profile.training.epochs,
                          endedBy: profile.training.endedBy?.rawValue ?? "-", bags: profile.bags.count)
    }
    for way in Training.allCases { for epoch in epochSizes {
        results["\(way.name) \(epoch)", default: []].append(evaluate(training, normal, attack, way: way, epoch: epoch))
    } }
    let withoutRuntime = recordings.map(\.passingOverTheRuntime)
    for epoch in epochSizes {
        results["\(withoutRuntimeKey) \(epoch)", default: []].append(evaluate(withoutRuntime[0], withoutRuntime[1], withoutRuntime[2], way: .defaults, epoch: epoch))
    }
}

/// The attack's alert: the first within the attack (from its start to 2 s after its end), in
/// seconds after its start.
func secondsToAlert(_ run: Repetition, _ scoring: Scoring) -> Double? {
    let times = run.attack.compactMap(scoring.alert).filter { $0 >= run.attackStart && $0 <= run.attackEnd + alertGrace }
    return times.min().map { Double($0 - run.attackStart) / 1e9 }
}

func percent(_ part: Int, _ whole: Int) -> String {
    whole == 0 ? "-" : decimal(100 * Double(part) / Double(whole), digits: 2) + "%"
}


for way in Training.allCases { for epoch in epochSizes {
    let repetitions = results["\(way.name) \(epoch)"]!
    print("\ntrained \(way.name), epoch \(epoch): " + repetitions.map { "\($0.trainingEpochs) epochs (\($0.endedBy)), \($0.bags) bags" }.joined(separator: "; "))
    print("threshold | normal epochs flagged | attack epochs flagged | attacks flagged | seconds to alert (each run)")
    for threshold in thresholds {
        var normalFlagged = 0, normalTotal = 0, attackFlagged = 0, attackTotal = 0, detected = 0
        var delays: [String] = []
        for run in repetitions {
            normalTotal += run.normal.count
            normalFlagged += run.normal.filter { $0.mismatches > threshold }.count
            let during = run.attack.filter { $0.end >= run.attackStart && $0.start <= run.attackEnd }
            attackTotal += during.count
            attackFlagged += during.filter { $0.mismatches > threshold }.count
            let delay = secondsToAlert(run, .published(threshold))
            if delay != nil { detected += 1 }
            delays.append(delay.map { decimal($0, digits: 3) } ?? "-")
        }
        print("\(threshold) | \(percent(normalFlagged, normalTotal)) of \(normalTotal) | \(percent(attackFlagged, attackTotal)) of \(attackTotal) | "
              + "\(detected)/\(repetitions.count) | \(delays.joined(separator: ", "))")
    }
} }

/// Alerts and episodes (alerts closer than `episodeGap` to the one before) in judged epochs.
func alerts(_ epochs: [JudgedEpoch], _ scoring: Scoring) -> (alerts: Int, episodes: Int) {
    var alerts = 0, episodes = 0
    var last: UInt64?
    for epoch in epochs {
        guard let time = scoring.alert(epoch) else { continue }
        alerts += 1
        if last.map({ time &- $0 >= episodeGap }) ?? true { episodes += 1 }
        last = time
    }
    return (alerts, episodes)
}

func perHour(_ count: Int, _ nanoseconds: UInt64) -> String {
    nanoseconds == 0 ? "-" : decimal(Double(count) * 3600e9 / Double(nanoseconds), digits: 1)
}

print("\nAlerts per hour of normal load and attacks caught, by scoring (trained \(Training.defaults.name); episodes: alerts under \(episodeGap / 1_000_000_000) s apart are one)")
for (calls, key) in [("every call of the container", Training.defaults.name), ("the runtime's own calls passed over (docker exec's runc init, until it executes the image's program)", withoutRuntimeKey)] {
for epoch in epochSizes {
    let repetitions = results["\(key) \(epoch)"]!
    print("\nepoch \(epoch), \(calls)")
    print("scoring | normal epochs flagged | false alerts per hour | false episodes per hour | attacks flagged | seconds to alert (each run)")
    for scoring in scorings {
        var flagged = 0, total = 0, episodes = 0, detected = 0
        var normalTime: UInt64 = 0
        var delays: [String] = []
        for run in repetitions {
            let counted = alerts(run.normal, scoring)
            flagged += counted.alerts
            episodes += counted.episodes
            total += run.normal.count
            normalTime += (run.normal.last?.end ?? 0) &- (run.normal.first?.start ?? 0)
            let delay = secondsToAlert(run, scoring)
            if delay != nil { detected += 1 }
            delays.append(delay.map { decimal($0, digits: 3) } ?? "-")
        }
        print("\(scoring.name) | \(percent(flagged, total)) of \(total) | \(perHour(flagged, normalTime)) | \(perHour(episodes, normalTime)) | "
              + "\(detected)/\(repetitions.count) | \(delays.joined(separator: ", "))")
    }
}
}
