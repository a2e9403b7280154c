import ArgumentParser
import BoSC
import Engine
import SentinelJSON
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// `sentinel bosc train|eval|status`: the Bag of System Calls offline, as the original work ran
/// it on `strace -f` logs (or on recordings), and the live profiles' state.
struct BoSCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bosc",
        abstract: "Train and evaluate Bag of System Calls profiles offline; show the live profiles.",
        subcommands: [Train.self, Eval.self, Status.self]
    )

    /// The algorithm's numbers, as options; the defaults are the rule's.
    struct ParameterOptions: ParsableArguments {
        @Option(help: "Calls per sliding window.") var window = BoSCParameters().window
        @Option(help: "Calls per epoch.") var epoch = BoSCParameters().epoch
        @Option(help: "An epoch with more unknown bags than this is anomalous.") var threshold = BoSCParameters().threshold
        @Option(help: "Training is stable at this cosine similarity between consecutive epochs ...") var similarity = BoSCParameters().similarity
        @Option(name: .customLong("stable-epochs"), help: "... this many epochs in a row.") var stableEpochs = BoSCParameters().stableEpochs
        @Option(name: .customLong("min-training-seconds"),
                help: "Not stable before this many seconds of the calls' time (strace logs are read without times: 0 for stability to end their training).")
        var minimumTrainingSeconds = BoSCParameters.defaultMinimumTrainingSeconds
        @Option(help: "One window per thread or per container.") var windows = BoSCParameters().windows.rawValue

        func parameters() throws -> BoSCParameters {
            var parameters = BoSCParameters()
            guard (2...BoSCParameters.largestWindow).contains(window) else { throw ValidationError("--window must be 2 to \(BoSCParameters.largestWindow)") }
            guard epoch >= 10 else { throw ValidationError("--epoch must be at least 10") }
            guard threshold >= 0 else { throw ValidationError("--threshold must be 0 or more") }
            guard (0...1).contains(similarity) else { throw ValidationError("--similarity must be 0 to 1") }
            guard stableEpochs >= 1 else { throw ValidationError("--stable-epochs must be at least 1") }
            guard minimumTrainingSeconds >= 0 else { throw ValidationError("--min-training-seconds must be 0 or more") }
            guard let windows = BoSCParameters.Windows(rawValue: windows) else { throw ValidationError("--windows must be thread or container") }
            parameters.window = window
            parameters.epoch = epoch
            parameters.threshold = threshold
            parameters.similarity = similarity
            parameters.stableEpochs = stableEpochs
            parameters.minimumTrainingSeconds = minimumTrainingSeconds
            parameters.windows = windows
            return parameters
        }
    }

    /// Where calls come from: strace logs or a recording.
    struct InputOptions: ParsableArguments {
        @Option(parsing: .upToNextOption,
                help: ArgumentHelp("`strace -f` logs: files, directories (each file in them) or globs ('logs/*.strace'), after one flag.", valueName: "file"))
        var strace: [String] = []
        @Option(help: ArgumentHelp("A recording (sentinel record --syscalls).", valueName: "file")) var replay: String?
        @Option(help: ArgumentHelp("Only this container's calls from the recording (its id).", valueName: "id")) var container: String?

        func validate() throws {
            guard strace.isEmpty != (replay == nil) else { throw ValidationError("give --strace FILE... or --replay FILE") }
        }

        /// The strace logs named, directories and globs expanded, in order.
        func straceLogs() throws -> [String] {
            var logs: [String] = []
            for argument in strace {
                var status = stat()
                if stat(argument, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
                    logs += listDirectory(argument).filter { !$0.hasPrefix(".") }.sorted().map { argument + "/" + $0 }
                } else if argument.contains(where: { "*?[".contains($0) }) {
                    var found = glob_t()
                    defer { globfree(&found) }
                    guard glob(argument, 0, nil, &found) == 0 else { throw ValidationError("--strace \(argument): no file matches") }
                    logs += (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }
                } else {
                    logs.append(argument)
                }
            }
            return logs
        }

        /// Every call in order, with its stream: one per strace log, one per container of a recording.
        /// `ended` is told when a stream has no more calls. With `skipping`, a line of a log that
        /// cannot be read is handed to it and the rest is read; without, it stops the run.
        func forEachCall(_ body: (_ stream: String, _ thread: Int64, _ number: Int, _ time: UInt64) -> Void,
                         exited: (_ thread: Int64) -> Void, ended: (_ stream: String) -> Void = { _ in },
                         skipping: ((Diagnostic) -> Void)? = nil) throws {
            for (fileIndex, path) in try straceLogs().enumerated() {
                // Threads of different logs are different threads, whatever their ids.
                let threadBase = Int64(fileIndex) << 32
                let problem = StraceLog.read(path: path, skipping: skipping) { line in
                    switch line {
                    case .call(let thread, let number): body(path, threadBase | thread, number, 0)
                    case .exit(let thread): exited(threadBase | thread)
                    case .mode, .other: break
                    }
                }
                if let problem {
                    guard let skipping else {
                        printError(problem.description)
                        throw ExitStatus.badInput
                    }
                    skipping(problem)
                }
                ended(path)
            }
            guard let replay else { return }
            let sensor = ReplaySensor(path: replay) { printError($0.description) }
            var containers: [String] = []
            try sensor.run { event in
                let id = event.containerID ?? ContainerRecord.hostID
                if let container, !id.hasPrefix(container) { return }
                switch event.payload {
                case .syscall(let number):
                    if !containers.contains(id) { containers.append(id) }
                    body(id, event.tid, Int(number), event.time)
                case .exit: exited(event.tid)
                default: break
                }
            }
            containers.forEach(ended)
            if sensor.statistics.dropped > 0 {
                printError("sentinel: \(sensor.statistics.dropped) malformed lines in \(replay)")
                throw ExitStatus.badInput
            }
        }
    }

    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Learn a profile from strace logs or a recording.",
            discussion: """
            Training ends when the profile is stable, after --min-training-seconds of the calls' \
            time, or when the input ends. The profile is written \
            as JSON; copy it into a state directory's rule folder for live use, or judge logs with \
            `sentinel bosc eval`.
            """
        )
        @OptionGroup var input: InputOptions
        @OptionGroup var algorithm: ParameterOptions
        @Option(help: ArgumentHelp("The profile to write.", valueName: "file")) var out: String
        @Option(help: ArgumentHelp("The image the profile is for (its name in alerts).", valueName: "name")) var image = "trained"

        func run() throws {
            let trainer = BoSCTrainer(parameters: try algorithm.parameters())
            try input.forEachCall({ _, thread, number, time in trainer.observe(thread: thread, call: number, time: time) },
                                  exited: trainer.forget(thread:))
            trainer.finish(.endOfInput)
            let profile = BoSCProfile(trainer: trainer, key: .image, value: image)
            if let error = replaceFileAtomically(out, with: ProfileFile.encode(.detecting(profile))) {
                printError("sentinel: \(error)")
                throw ExitStatus.failure
            }
            let similarity = profile.training.similarity.map { decimal($0, digits: 4) } ?? "none"
            printError("sentinel: bosc: \(profile.training.calls) calls, \(profile.training.epochs) epochs, \(profile.bags.count) bags, "
                       + "\(profile.slotCalls.count) calls with slots of their own; similarity \(similarity), ended by "
                       + "\(profile.training.endedBy?.rawValue ?? "-"); wrote \(out)")
        }
    }

    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Judge strace logs or a recording against a profile: a line per epoch, then one per stream.",
            discussion: """
            An epoch line (-o json: stream, epoch, calls, windows, mismatches, anomalous, partial) for \
            each epoch; a stream's last epoch, cut short when its calls end, is judged too and marked \
            partial. Then a summary line per stream (-o json: stream, summary true, calls, windows, \
            unknown, largest, epochs, anomalous_epochs, score): windows judged, unknown bags in all, \
            the most in one epoch, and the share of unknown windows as a score for ROC curves. A log \
            line that cannot be read is reported with its place and passed over; the rest is judged \
            (exit 2 at the end).
            """
        )
        @Option(help: ArgumentHelp("The profile.", valueName: "file")) var profile: String
        @OptionGroup var input: InputOptions
        @Option(help: "Calls per epoch.") var epoch = BoSCParameters().epoch
        @Option(help: "An epoch with more unknown bags than this is anomalous.") var threshold = BoSCParameters().threshold
        @Option(name: .customLong("new-call-threshold"),
                help: "An epoch with more unknown bags than this that hold a call training never saw is anomalous too (none: no such threshold).")
        var newCallThreshold = BoSCParameters().newCallThreshold.map(String.init) ?? "none"
        @Flag(help: "Add an epoch's unknown bags to the profile when the epoch is under the threshold, as the rule's learn does.")
        var learn = false
        @Option(name: .short, help: "text or json.") var output: OutputFormat = .text

        /// A stream's figures over all its epochs.
        struct Summary {
            var calls = 0, windows = 0, unknown = 0, largest = 0, epochs = 0, anomalousEpochs = 0
            var score: Double { windows == 0 ? 0 : Double(unknown) / Double(windows) }

            mutating func add(_ result: EpochResult) {
                calls += result.calls
                windows += result.windows
                unknown += result.mismatches
                largest = max(largest, result.mismatches)
                epochs += 1
                if result.anomalous { anomalousEpochs += 1 }
            }
        }

        func run() throws {
            let diagnostics = Diagnostics()
            guard let source = diagnostics.take(JSONSource.load(path: profile)),
                  case .detecting(let loaded)? = ProfileFile.decode(source, diagnostics: diagnostics) else {
                printDiagnostics(diagnostics.all)
                if diagnostics.all.isEmpty { printError("sentinel: \(profile) is still training: it has no database to judge with") }
                throw ExitStatus.badInput
            }
            var parameters = BoSCParameters()
            if newCallThreshold != "none" {
                guard let value = Int(newCallThreshold), value >= 0 else { throw ValidationError("--new-call-threshold must be a number, 0 or more, or none") }
                parameters.newCallThreshold = value
            }
            if threshold >= epoch {
                printError("sentinel: warning: --threshold \(threshold) is at or above the epoch's \(epoch) calls: an epoch has at most that many unknown bags, so none can be anomalous")
            }
            parameters.window = loaded.window
            parameters.windows = loaded.windows
            parameters.epoch = epoch
            parameters.threshold = threshold
            parameters.learn = learn
            let detector = BoSCDetector(profile: loaded, parameters: parameters)
            var streams: [String: Int] = [:]
            var names: [String] = []
            var summaries: [Summary] = []
            var unreadable: [String: Int] = [:]
            func judged(_ result: EpochResult) {
                summaries[result.stream].add(result)
                printLine(describe(result, stream: names[result.stream]))
            }
            try input.forEachCall({ name, thread, number, _ in
                let stream = streams[name] ?? {
                    names.append(name)
                    summaries.append(Summary())
                    streams[name] = names.count - 1
                    return names.count - 1
                }()
                guard let result = detector.observe(stream: stream, thread: thread, call: number), result.complete else { return }
                judged(result)
            }, exited: detector.forget(thread:), ended: { name in
                if let stream = streams[name], let result = detector.finish(stream: stream) { judged(result) }
            }, skipping: { problem in
                // A binary file is all bad lines: the first few are shown, the rest counted.
                unreadable[problem.file, default: 0] += 1
                if unreadable[problem.file]! <= 3 { printError(problem.description) }
            })
            for (stream, name) in names.enumerated() { printLine(describe(summaries[stream], stream: name)) }
            let epochs = summaries.map(\.epochs).reduce(0, +), anomalous = summaries.map(\.anomalousEpochs).reduce(0, +)
            printError("sentinel: bosc: \(epochs) epochs, \(anomalous) anomalous (threshold \(threshold)) in \(names.count) stream(s)")
            for (file, count) in unreadable.sorted(by: { $0.key < $1.key }) {
                printError("sentinel: \(file): \(count) line(s) could not be read and were passed over")
            }
            if !unreadable.isEmpty { throw ExitStatus.badInput }
        }

        private func describe(_ result: EpochResult, stream: String) -> String {
            switch output {
            case .json:
                var writer = JSONWriter()
                writer.beginObject()
                writer.key("stream"); writer.string(stream)
                writer.key("epoch"); writer.integer(result.epoch)
                writer.key("calls"); writer.integer(result.calls)
                writer.key("windows"); writer.integer(result.windows)
                writer.key("mismatches"); writer.integer(result.mismatches)
                writer.key("unseen_mismatches"); writer.integer(result.unseenMismatches)
                writer.key("anomalous"); writer.bool(result.anomalous)
                writer.key("partial"); writer.bool(result.partial)
                writer.endObject()
                return writer.text
            case .text:
                return "\(stream) epoch \(result.epoch)\(result.partial ? " (partial)" : ""): \(result.calls) calls, \(result.mismatches) mismatches (\(result.unseenMismatches) with calls never seen)\(result.anomalous ? ", ANOMALOUS" : "")"
            }
        }

        private func describe(_ summary: Summary, stream: String) -> String {
            switch output {
            case .json:
                var writer = JSONWriter()
                writer.beginObject()
                writer.key("stream"); writer.string(stream)
                writer.key("summary"); writer.bool(true)
                writer.key("calls"); writer.integer(summary.calls)
                writer.key("windows"); writer.integer(summary.windows)
                writer.key("unknown"); writer.integer(summary.unknown)
                writer.key("largest"); writer.integer(summary.largest)
                writer.key("epochs"); writer.integer(summary.epochs)
                writer.key("anomalous_epochs"); writer.integer(summary.anomalousEpochs)
                writer.key("score"); writer.double(summary.score)
                writer.endObject()
                return writer.text
            case .text:
                return "\(stream): \(summary.calls) calls, \(summary.windows) windows judged, \(summary.unknown) unknown (at most \(summary.largest) in an epoch), "
                    + "\(summary.anomalousEpochs) of \(summary.epochs) epochs anomalous, score \(decimal(summary.score, digits: 4))"
            }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the live profiles in a state directory: phase, epochs, database size, stability."
        )
        @Option(name: .customLong("state-dir"), help: ArgumentHelp("sentinel's state directory.", valueName: "dir"))
        var stateDirectory = Run.defaultStateDirectory
        @Option(name: .short, help: "text or json.") var output: OutputFormat = .text

        func run() throws {
            let diagnostics = Diagnostics()
            var rows: [(rule: String, profile: StoredProfile)] = []
            for rule in listDirectory(stateDirectory + "/rules") {
                for profile in ProfileStore(directory: "\(stateDirectory)/rules/\(rule)").loadAll(diagnostics: diagnostics) {
                    rows.append((rule, profile))
                }
            }
            printDiagnostics(diagnostics.all)
            if rows.isEmpty { printError("sentinel: no BoSC profiles in \(stateDirectory)/rules") }
            for row in rows { printLine(describe(row.rule, row.profile)) }
            if diagnostics.hasErrors { throw ExitStatus.badInput }
        }

        private func describe(_ rule: String, _ stored: StoredProfile) -> String {
            let (phase, epochs, calls, bags, similarity): (String, Int, UInt64, Int, Double?)
            switch stored {
            case .training(_, _, _, let trainer):
                (phase, epochs, calls, bags, similarity) = ("training", trainer.epochs, trainer.calls, trainer.distinctBags, trainer.similarity)
            case .detecting(let profile):
                (phase, epochs, calls, bags, similarity) = ("detecting", profile.training.epochs, profile.training.calls, profile.bags.count, profile.training.similarity)
            }
            switch output {
            case .json:
                var writer = JSONWriter()
                writer.beginObject()
                writer.key("rule"); writer.string(rule)
                writer.key(stored.key.rawValue); writer.string(stored.value)
                if stored.key != .image, !stored.image.isEmpty { writer.key("container.image"); writer.string(stored.image) }
                writer.key("phase"); writer.string(phase)
                writer.key("epochs"); writer.integer(epochs)
                writer.key("calls"); writer.integer(calls)
                writer.key("bags"); writer.integer(bags)
                writer.key("similarity")
                if let similarity { writer.double(similarity) } else { writer.null() }
                writer.endObject()
                return writer.text
            case .text:
                let shown = similarity.map { decimal($0, digits: 4) } ?? "-"
                let image = stored.key != .image && !stored.image.isEmpty ? "  container.image=\(stored.image)" : ""
                return "\(rule)  \(stored.key.rawValue)=\(stored.value)\(image)  \(phase)  epochs=\(epochs) calls=\(calls) bags=\(bags) similarity=\(shown)"
            }
        }
    }
}
