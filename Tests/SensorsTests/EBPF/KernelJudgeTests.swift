@testable import BoSC
import Engine
import Foundation
import Synchronization
import Testing
@testable import Sensors

/// BoSC judged in the kernel gives the verdicts the user-space detector gives on the same calls.
/// The calls are a real workload's, in a cgroup the test makes (named like a container's, so the
/// sensor watches it), pinned to one CPU so that both sides see them in one order.
@Suite(.serialized) struct KernelJudgeTests {
    static let isCI = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false
    static let problem: String? = {
        if geteuid() != 0 { return "needs root" }
        if !FileManager.default.fileExists(atPath: "/sys/kernel/btf/vmlinux") { return "this kernel has no BTF" }
        return nil
    }()

    /// A cgroup v2 directory whose path holds a container-like id.
    final class TestCgroup {
        let id = (0..<4).map { _ in String(format: "%016llx", UInt64.random(in: 0...UInt64.max)) }.joined()
        let path: String

        init() throws {
            let root = try #require(CgroupPaths.cgroup2MountPoint(String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)))
            try FileManager.default.createDirectory(atPath: root + "/sentinel-test", withIntermediateDirectories: true)
            path = root + "/sentinel-test/" + id
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        }

        /// Runs `script` with sh inside the cgroup, on CPU 0 from before it enters: a thread that
        /// moved between CPUs would have its calls in two CPUs' batches, which user space reads in
        /// either order.
        func run(_ script: String) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
            process.arguments = ["-c", "0", "sh", "-c", "echo $$ > \(path)/cgroup.procs && exec sh -c '\(script)'"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            while process.isRunning { usleep(5_000) }
            #expect(process.terminationStatus == 0)
        }

        deinit { rmdir(path) }
    }

    /// The sensor on its own thread; events collected.
    final class RunningSensor: @unchecked Sendable {
        let sensor: EBPFSensor
        let events = Mutex<[Event]>([])
        private let finished = Atomic<Bool>(false)

        init(requests: KernelRequests) throws {
            let probes = ProbeSelection(eventTypes: [.syscall], streamedSystemCalls: .none, includeHost: false)
            sensor = try EBPFSensor(options: EBPFSensor.Options(probes: probes, dockerSocket: nil, kernelRequests: requests),
                                    onStatistics: { _, _ in }, onWarning: { Issue.record("sensor warning: \($0)") })
            Thread.detachNewThread { [self] in
                try? sensor.run { event in self.events.withLock { $0.append(event) } }
                finished.store(true, ordering: .relaxed)
            }
        }

        /// Lets the sensor read what the kernel sent (it polls every 20 ms, batches wait up to 50 ms).
        func settle() { usleep(300_000) }

        /// Posts a request and waits until the sensor has taken it: it applies what it takes at
        /// once, between two polls, which a loaded machine may space out.
        func apply(_ request: KernelRequests.Request, through requests: KernelRequests) {
            requests.post(request)
            let deadline = Date().addingTimeInterval(30)
            while !requests.isEmpty, Date() < deadline { usleep(5_000) }
            #expect(requests.isEmpty, "the sensor did not take \(request)")
            usleep(50_000)
        }

        func stop() -> [Event] {
            sensor.stop()
            while !finished.load(ordering: .relaxed) { usleep(5_000) }
            return events.withLock { $0 }
        }

        func take() -> [Event] { events.withLock { events in defer { events.removeAll() }; return events } }
    }

    static let workload = "for i in $(seq 60); do cat /etc/hostname; ls /; id -u; done > /dev/null"
    static let unusual = "for i in $(seq 20); do cat /etc/hostname; ls /; done > /dev/null; uname -a; df; sleep 0.01; for i in $(seq 20); do id -u; done > /dev/null"

    /// The test's shell writes itself into the cgroup, as a runtime brings a process in: the kernel
    /// passes over its calls until it has executed (its execve calls among them: the shell tries
    /// each directory of PATH in turn), and starts its window afresh after. User space is given the
    /// calls the same way: the entering shell's up to its last execve dropped (the workload's shell
    /// executes nothing itself), its later ones under a thread number of their own.
    static func passingOverTheEntry(_ events: [Event]) -> [Event] {
        guard let entering = events.first(where: { $0.type == .syscall })?.pid,
              let executed = events.lastIndex(where: { event in
                  guard event.pid == entering, case .syscall(59) = event.payload else { return false }
                  return true
              }) else { return events }
        return events.enumerated().compactMap { index, event in
            guard event.pid == entering, case .syscall = event.payload else { return event }
            guard index > executed else { return nil }
            var renamed = event
            renamed.tid |= 1 << 40
            return renamed
        }
    }

    /// A test cgroup and a sensor running, ready for requests; nil where the machine cannot load
    /// the probes (a failure in CI).
    func started() throws -> (TestCgroup, KernelRequests, RunningSensor)? {
        if let problem = Self.problem {
            #expect(!Self.isCI, "\(problem)")
            return nil
        }
        let cgroup = try TestCgroup()
        let requests = KernelRequests()
        let running = try RunningSensor(requests: requests)
        running.settle()
        return (cgroup, requests, running)
    }

    @Test func theKernelJudgesAsUserSpaceDoes() throws {
        guard let (cgroup, requests, running) = try started() else { return }

        // Training: every call streamed, a profile learnt from them here.
        running.apply(.stream(container: cgroup.id), through: requests)
        try cgroup.run(Self.workload)
        running.settle()
        let trainingCalls = running.take().filter { $0.containerID == cgroup.id && $0.type == .syscall }
        #expect(trainingCalls.count > 20_000, "\(trainingCalls.count) calls")
        var parameters = BoSCParameters()
        parameters.epoch = 500
        parameters.threshold = 5
        parameters.newCallThreshold = 2
        parameters.similarity = 2
        let trainer = BoSCTrainer(parameters: parameters)
        for event in trainingCalls {
            if case .syscall(let number) = event.payload { trainer.observe(thread: event.tid, call: Int(number)) }
        }
        let profile = BoSCProfile(trainer: trainer, key: .image, value: "test-image")

        // Judged in the kernel, and every call streamed too, to judge here alike.
        running.apply(.judge(container: cgroup.id, profile: KernelProfile(profile: profile, parameters: parameters), streamAll: true), through: requests)
        try cgroup.run(Self.unusual)
        running.settle()
        let events = Self.passingOverTheEntry(running.stop().filter { $0.containerID == cgroup.id })

        let detector = BoSCDetector(profile: profile, parameters: parameters)
        var userSpace: [EpochResult] = []
        var kernel: [BoSCEpoch] = []
        for event in events {
            switch event.payload {
            case .syscall(let number):
                if let result = detector.observe(stream: 0, thread: event.tid, call: Int(number)) { userSpace.append(result) }
            case .boscEpoch(let epoch):
                kernel.append(epoch)
            default:
                break
            }
        }
        let userComplete = userSpace.filter(\.complete)
        let kernelComplete = kernel.filter(\.complete)
        #expect(userComplete.count >= 10, "\(userComplete.count) epochs")
        #expect(kernelComplete.map(\.mismatches) == userComplete.map { Int64($0.mismatches) })
        // Bags with a call training never saw (uname, df's statfs), counted alike.
        #expect(kernelComplete.map(\.unseenMismatches) == userComplete.map { Int64($0.unseenMismatches) })
        #expect(userComplete.contains { $0.unseenMismatches > 0 && $0.unseenMismatches < $0.mismatches })
        #expect(kernelComplete.map(\.epoch) == userComplete.map { Int64($0.epoch) })
        #expect(userComplete.contains { $0.anomalous } && userComplete.contains { !$0.anomalous && $0.mismatches == 0 })
        // Early verdicts: the same epochs, at the same call.
        #expect(kernel.filter { !$0.complete }.map { [$0.epoch, $0.calls] } == userSpace.filter { !$0.complete }.map { [Int64($0.epoch), Int64($0.calls)] })
        // The unknown bags shown are the same bags.
        #expect(kernelComplete.map(\.unknownBags) == userComplete.map(\.unknownBags))
    }

    /// Training counted in the kernel gives what the user-space trainer gives on the same calls:
    /// the same similarity after every epoch, the same bags with the same frequencies, the same
    /// call counts; and the training's counts are gone once it is ended.
    @Test func theKernelTrainsAsUserSpaceDoes() throws {
        guard let (cgroup, requests, running) = try started() else { return }
        var parameters = BoSCParameters()
        parameters.epoch = 500
        parameters.similarity = 2
        parameters.minimumTrainingSeconds = 0

        running.apply(.train(container: cgroup.id, profile: "test-image", window: parameters.window, epoch: parameters.epoch, streamAll: true),
                      through: requests)
        try cgroup.run(Self.workload)
        running.settle()
        let counts = try #require(requests.trainingCounts(profile: "test-image"), "no training counted in the kernel")
        let events = Self.passingOverTheEntry(running.take().filter { $0.containerID == cgroup.id })

        let userSpace = BoSCTrainer(parameters: parameters)
        let kernel = BoSCTrainer(parameters: parameters)
        var userSimilarities: [Double?] = []
        var kernelSimilarities: [Double?] = []
        for event in events {
            switch event.payload {
            case .syscall(let number):
                let epochs = userSpace.epochs
                userSpace.observe(thread: event.tid, call: Int(number))
                if userSpace.epochs > epochs { userSimilarities.append(userSpace.similarity) }
            case .boscEpoch(let epoch):
                let figures = try #require(epoch.training, "a judged epoch from a training container")
                kernel.observeKernelEpoch(figures, calls: epoch.calls, time: event.time)
                kernelSimilarities.append(kernel.similarity)
            default:
                break
            }
        }
        #expect(userSimilarities.count >= 20, "\(userSimilarities.count) epochs")
        #expect(kernelSimilarities.count == userSimilarities.count)
        #expect(zip(kernelSimilarities, userSimilarities).allSatisfy { kernel, user in
            kernel == user || (kernel != nil && user != nil && abs(kernel! - user!) < 1e-9)
        }, "\(kernelSimilarities) against \(userSimilarities)")
        kernel.absorb(counts)
        #expect(kernel.callCounts == userSpace.callCounts)
        #expect(Dictionary(uniqueKeysWithValues: kernel.bags.map { ($0.key, $0.value.frequency) })
                == Dictionary(uniqueKeysWithValues: userSpace.bags.map { ($0.key, $0.value.frequency) }))
        #expect(counts.droppedBags == 0)

        running.apply(.endTraining(profile: "test-image"), through: requests)
        #expect(requests.trainingCounts(profile: "test-image") == nil)
        _ = running.stop()
    }

    /// A container can end between a rule's request and the sensor's taking it: its cgroup is
    /// forgotten first, and the request must not outlive it, holding its profile loaded. (No maps:
    /// the writes fail, and what is checked is the bookkeeping.)
    @Test func aRequestForAContainerAlreadyGoneIsForgotten() {
        let trainer = BoSCTrainer(parameters: BoSCParameters())
        for index in 0..<100 { trainer.observe(thread: 1, call: index % 3) }
        let profile = KernelProfile(profile: BoSCProfile(trainer: trainer, key: .image, value: "app:1"), parameters: BoSCParameters())
        let judge = KernelJudge(containersFD: -1, callValuesFD: -1, knownFD: -1, trainings: nil, includeHost: false, onWarning: { _ in })
        judge.learnt(cgroup: 7, container: "running")
        judge.apply(.judge(container: "running", profile: profile))
        judge.apply(.judge(container: "gone", profile: profile))
        judge.forgetCgroups(notIn: [7])
        #expect(Set(judge.wanted.keys) == ["running"])
    }
}
