// The BoSC evaluation's arithmetic: `bosc-evaluation RUN_DIR...`, each RUN_DIR one repetition
// made by bench/bosc-evaluation with training.jsonl, normal.jsonl, attack.jsonl (recordings of
// the database container's system calls) and attack-window (the attack's start and end, in
// nanoseconds since the epoch).
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

#if canImport(Glibc)
import Glibc
#endif

struct Call {
    var time: UInt64
    var thread: Int64
    var number: Int
}

/// One judged epoch: its first and last call's times, mismatches, and when the first 51 happened.
struct JudgedEpoch {
    var start: UInt64
    var end: UInt64
    var mismatches: Int
    var mismatchTimes: [UInt64]
}

let epochSizes = [1000, 5000, 10_000]
let thresholds = 0...50
let alertGrace: UInt64 = 2_000_000_000

func fail(_ message: String) -> Never {
    print("bosc-evaluation: \(message)")
    exit(2)
}

/// The database's image: a recording holds every container's calls, and another container may run.
let databaseImage = "sentinel/mariadb:bookworm"

/// The system calls of the database container in a recording, in order.
func readCalls(_ path: String) -> [Call] {
    guard let bytes = readWholeFile(path) else { fail("cannot read \(path)") }
    var calls: [Call] = []
    var database: String?
    var lineNumber = 0
    for line in bytes.split(separator: UInt8(ascii: "\n")) {
        lineNumber += 1
        let diagnostics = Diagnostics()
        guard let event = EventCodec.decodeLine(Array(line), file: path, line: lineNumber, diagnostics: diagnostics) else {
            fail(diagnostics.all.map(\.description).joined(separator: "\n"))
        }
        if case .container(let facts) = event.payload, facts.image == databaseImage {
            guard database == nil || database == event.containerID else { fail("\(path) holds two containers of \(databaseImage)") }
            database = event.containerID
        }
        guard case .syscall(let number) = event.payload, let id = event.containerID, id == database else { continue }
        calls.append(Call(time: event.time, thread: event.tid, number: Int(number)))
    }
    guard !calls.isEmpty else { fail("\(path) holds no system calls of a \(databaseImage) container") }
    return calls
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
    var current = JudgedEpoch(start: 0, end: 0, mismatches: 0, mismatchTimes: [])
    var callsInEpoch = 0
    for call in calls {
        if callsInEpoch == 0 { current.start = call.time }
        callsInEpoch += 1
        let result = detector.observe(stream: 0, thread: call.thread, call: call.number)
        // A complete verdict has started the next epoch: its own count is in the result.
        let mismatches = result?.complete == true ? result!.mismatches : detector.mismatchesSoFar(stream: 0)
        if mismatches > current.mismatches {
            if current.mismatchTimes.count <= thresholds.upperBound { current.mismatchTimes.append(call.time) }
            current.mismatches = mismatches
        }
        guard let result, result.complete else { continue }
        current.end = call.time
        epochs.append(current)
        current = JudgedEpoch(start: 0, end: 0, mismatches: 0, mismatchTimes: [])
        callsInEpoch = 0
    }
    return epochs
}

struct Repetition {
    var normal: [JudgedEpoch]
    var attack: [JudgedEpoch]
    var attackStart: UInt64
    var attackEnd: UInt64
    var trainingEpochs: Int
    var endedBy: String
    var bags: Int
}

let directories = Array(CommandLine.arguments.dropFirst())
guard !directories.isEmpty else { fail("usage: bosc-evaluation RUN_DIR...") }
/// Per training and epoch size: the repetitions.
var results: [String: [Repetition]] = [:]
for directory in directories {
    let training = readCalls(directory + "/training.jsonl")
    let normal = readCalls(directory + "/normal.jsonl")
    let attack = readCalls(directory + "/attack.jsonl")
    guard let window = readWholeFile(directory + "/attack-window").map({ String(decoding: $0, as: UTF8.self).split(whereSeparator: \.isWhitespace).compactMap { UInt64($0) } }),
          window.count == 2 else { fail("\(directory)/attack-window must hold the attack's start and end in nanoseconds") }
    print("\(directory): \(training.count) training calls, \(normal.count) normal, \(attack.count) in the attack run")
    for way in Training.allCases { for epoch in epochSizes {
        let profile = train(training, epoch: epoch, way)
        results["\(way.name) \(epoch)", default: []].append(Repetition(
            normal: judge(normal, profile: profile, epoch: epoch), attack: judge(attack, profile: profile, epoch: epoch),
            attackStart: window[0], attackEnd: window[1], trainingEpochs: profile.training.epochs,
            endedBy: profile.training.endedBy?.rawValue ?? "-", bags: profile.bags.count))
    } }
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
            // The alert: the moment an epoch's mismatches passed the threshold, within the attack.
            let alerts = run.attack.compactMap { epoch -> UInt64? in
                guard epoch.mismatchTimes.count > threshold else { return nil }
                let time = epoch.mismatchTimes[threshold]
                return time >= run.attackStart && time <= run.attackEnd + alertGrace ? time : nil
            }
            if let first = alerts.min() {
                detected += 1
                delays.append(decimal(Double(first - run.attackStart) / 1e9, digits: 3))
            } else {
                delays.append("-")
            }
        }
        print("\(threshold) | \(percent(normalFlagged, normalTotal)) of \(normalTotal) | \(percent(attackFlagged, attackTotal)) of \(attackTotal) | "
              + "\(detected)/\(repetitions.count) | \(delays.joined(separator: ", "))")
    }
} }
