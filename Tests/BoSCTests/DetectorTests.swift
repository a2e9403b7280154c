import Testing
@testable import BoSC

@Suite struct DetectorTests {
    @Test(arguments: [BoSCParameters.Windows.thread, .container], [1000, 5000])
    func mismatchesAreThePlainAlgorithms(windows: BoSCParameters.Windows, epoch: Int) {
        let training = programLikeStream(calls: 30_000, seed: 21)
        var settings = parameters(epoch: epoch, windows: windows)
        settings.similarity = 2
        let profile = BoSCProfile(trainer: train(training, settings), key: .image, value: "test")
        // The same program with more noise, and calls it never made.
        let judged = programLikeStream(calls: 40_000, alphabet: [0, 1, 3, 9, 10, 11, 12, 39, 56, 61, 202, 232, 101, 105], noise: 120, seed: 22)
        let results = judge(judged, with: BoSCDetector(profile: profile, parameters: settings))

        let reference = ReferenceBoSC(window: 10, perThread: windows == .thread)
        let slotCalls = reference.slotCalls(training)
        let expected = reference.mismatches(judged, database: reference.database(training, slotCalls: slotCalls), slotCalls: slotCalls, epoch: epoch)
        #expect(results.map(\.mismatches) == expected)
        #expect(results.map(\.epoch) == Array(1...(40_000 / epoch)))
        #expect(expected.contains { $0 > 0 } && Set(expected).count > 1)
    }

    @Test func oneUnknownCallMakesAWindowOfUnknownBags() throws {
        let pattern = [0, 1, 3, 0, 1, 39, 232]
        let normal = (0..<7000).map { Call(thread: 1, number: pattern[$0 % 7]) }
        let profile = BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test")
        var judged = Array(normal[0..<3000])
        judged.insert(Call(thread: 1, number: 101), at: 1500)  // ptrace, never seen
        let results = judge(judged, with: BoSCDetector(profile: profile, parameters: parameters(threshold: 9)))

        // Every window that holds the new call is unknown: as many as the window is long.
        #expect(results.map(\.mismatches) == [0, 10, 0])
        #expect(results.map(\.anomalous) == [false, true, false])
        let unknown = try #require(results[1].unknownBags.first)
        #expect(unknown.contains(101) && unknown.count == 10)
        #expect(results[1].unknownBags.count == 10)
    }

    @Test func anEpochIsFlaggedTheMomentItPassesTheThreshold() throws {
        let normal = (0..<7000).map { Call(thread: 1, number: [0, 1, 3][$0 % 3]) }
        let detector = BoSCDetector(profile: BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test"), parameters: parameters(threshold: 4))
        var judged = Array(normal[0..<1000])
        judged.insert(Call(thread: 1, number: 101), at: 300)
        judged.removeLast()
        let results = judged.enumerated().compactMap { index, call in
            detector.observe(stream: 0, thread: call.thread, call: call.number).map { (index, $0) }
        }
        // The new call is at 300; the windows holding it are unknown from there, the fifth passes 4.
        #expect(results.map(\.0) == [304, 999])
        let early = try #require(results.first?.1)
        #expect(early.anomalous && !early.complete && early.mismatches == 5 && early.calls == 305 && early.unknownBags.count == 5)
        #expect(results.last?.1.complete == true && results.last?.1.mismatches == 10)
    }

    /// A rare mix of known calls passes only the threshold; one call never seen in training passes
    /// new_call_threshold at once.
    @Test func callsNeverSeenHaveAThresholdOfTheirOwn() throws {
        let pattern = [0, 1, 3, 0, 1, 39, 232]
        let normal = (0..<7000).map { Call(thread: 1, number: pattern[$0 % 7]) }
        let profile = BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test")
        var settings = parameters(threshold: 30)
        settings.newCallThreshold = 2
        // Epoch 1: the known calls in an order training never saw (20 unknown bags). Epoch 2: ptrace once.
        var judged = Array(normal[0..<1000])
        judged.replaceSubrange(400..<420, with: (0..<20).map { Call(thread: 1, number: [232, 39][$0 % 2]) })
        judged += normal[0..<1000]
        judged.insert(Call(thread: 1, number: 101), at: 1500)
        judged.removeLast()
        let detector = BoSCDetector(profile: profile, parameters: settings)
        let results = judged.enumerated().compactMap { index, call in
            detector.observe(stream: 0, thread: call.thread, call: call.number).map { (index, $0) }
        }
        let complete = results.map(\.1).filter(\.complete)
        #expect(complete.map(\.unseenMismatches) == [0, 10])
        #expect(complete[0].mismatches > 10 && complete[0].mismatches <= 30 && !complete[0].anomalous)
        #expect(complete[1].anomalous)
        // The early verdict: the third bag holding ptrace.
        let early = try #require(results.first { !$0.1.complete })
        #expect(early.0 == 1502 && early.1.unseenMismatches == 3 && early.1.anomalous)
    }

    @Test func theThresholdIsExclusive() {
        let normal = (0..<7000).map { Call(thread: 1, number: [0, 1, 3][$0 % 3]) }
        let profile = BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test")
        var judged = Array(normal[0..<1000])
        judged.insert(Call(thread: 1, number: 101), at: 500)
        judged.removeLast()
        #expect(judge(judged, with: BoSCDetector(profile: profile, parameters: parameters(threshold: 10))).map(\.anomalous) == [false])
        #expect(judge(judged, with: BoSCDetector(profile: profile, parameters: parameters(threshold: 9))).map(\.anomalous) == [true])
    }

    @Test func threadsHaveWindowsOfTheirOwn() {
        // Two threads, each with its own steady pattern; interleaved, they would make new bags.
        let profileCalls = (0..<6000).map { Call(thread: 1, number: [0, 1][$0 % 2]) } + (0..<6000).map { Call(thread: 2, number: [3, 39, 232][$0 % 3]) }
        var perThread = parameters()
        perThread.similarity = 2  // learn both threads, not only the first, already stable
        let profile = BoSCProfile(trainer: train(profileCalls, perThread), key: .image, value: "test")
        let interleaved = (0..<4000).map { $0 % 2 == 0 ? Call(thread: 1, number: [0, 1][($0 / 2) % 2]) : Call(thread: 2, number: [3, 39, 232][($0 / 2) % 3]) }
        #expect(judge(interleaved, with: BoSCDetector(profile: profile, parameters: parameters())).map(\.mismatches) == [0, 0, 0, 0])
        var perContainer = parameters(windows: .container)
        perContainer.similarity = 2
        let containerProfile = BoSCProfile(trainer: train(profileCalls, perContainer), key: .image, value: "test")
        let mixed = judge(interleaved, with: BoSCDetector(profile: containerProfile, parameters: perContainer)).map(\.mismatches)
        // A few mixed bags happen to equal those where training went from one thread to the other.
        #expect(mixed.allSatisfy { $0 > 800 }, "\(mixed)")
    }

    @Test func learningTakesUnknownBagsOnlyFromEpochsUnderTheThreshold() {
        let normal = (0..<7000).map { Call(thread: 1, number: [0, 1, 3][$0 % 3]) }
        let profile = BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test")
        var once = Array(normal[0..<2000])
        once.insert(Call(thread: 1, number: 101), at: 500)
        once.removeLast()
        let twice = once + once

        let learning = BoSCDetector(profile: profile, parameters: parameters(threshold: 10, learn: true))
        #expect(judge(twice, with: learning).map(\.mismatches) == [10, 0, 0, 0])
        #expect(learning.profileChanged)

        let strict = BoSCDetector(profile: profile, parameters: parameters(threshold: 10))
        #expect(judge(twice, with: strict).map(\.mismatches) == [10, 0, 10, 0])

        let overThreshold = BoSCDetector(profile: profile, parameters: parameters(threshold: 5, learn: true))
        #expect(judge(twice, with: overThreshold).map(\.mismatches) == [10, 0, 10, 0])
    }

    @Test func streamsKeepTheirOwnEpochs() {
        let normal = (0..<7000).map { Call(thread: 1, number: [0, 1, 3][$0 % 3]) }
        let detector = BoSCDetector(profile: BoSCProfile(trainer: train(normal, parameters()), key: .image, value: "test"), parameters: parameters())
        var ended: [Int] = []
        for index in 0..<3000 {
            let stream = index % 3 == 0 ? 0 : 1
            if let result = detector.observe(stream: stream, thread: Int64(stream + 1), call: [0, 1, 3][index % 3]), result.complete {
                ended.append(result.stream)
            }
        }
        // Stream 1 has two calls in three: its epochs end first.
        #expect(ended == [1, 0, 1])
    }
}
