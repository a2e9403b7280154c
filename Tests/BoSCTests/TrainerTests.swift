import Testing
@testable import BoSC

@Suite struct TrainerTests {
    @Test(arguments: [BoSCParameters.Windows.thread, .container])
    func theDatabaseIsThePlainAlgorithms(windows: BoSCParameters.Windows) {
        let calls = programLikeStream(calls: 20_000, seed: 7)
        var settings = parameters(windows: windows)
        settings.similarity = 2  // never stable: learn the whole stream
        let profile = BoSCProfile(trainer: train(calls, settings), key: .image, value: "test")
        let reference = ReferenceBoSC(window: 10, perThread: windows == .thread)
        let slotCalls = reference.slotCalls(calls)

        #expect(profile.slotCalls.map(Int.init) == slotCalls)
        let database = Dictionary(uniqueKeysWithValues: profile.bags.values.map { ($0.slots.map(Int.init), $0.frequency) })
        #expect(database == reference.database(calls, slotCalls: slotCalls))
        #expect(profile.training.calls == 20_000 && profile.training.epochs == 20)
    }

    @Test func rareCallsShareTheOtherSlot() {
        // 11 distinct calls: those seen fewer than 11 times fold into "other".
        var calls = (0..<1000).map { Call(thread: 1, number: [0, 1, 2][$0 % 3]) }
        for rare in 3..<11 { calls.insert(Call(thread: 1, number: rare * 10), at: rare * 50) }
        let profile = BoSCProfile(trainer: train(calls, parameters()), key: .image, value: "test")
        #expect(profile.slotCalls == [0, 1, 2])
        #expect(profile.slotName(3) == "other")
        #expect(profile.slots[30] == 3 && profile.slots[999] == 3)
        #expect(profile.trainingCalls[30] == 1)
    }

    @Test func similarityIsTheCosineOfConsecutiveEpochs() {
        let calls = programLikeStream(calls: 12_000, noise: 200, seed: 11)
        var settings = parameters(epoch: 1000)
        settings.similarity = 2
        let trainer = BoSCTrainer(parameters: settings)
        var measured: [Double?] = []
        for call in calls {
            let epochs = trainer.epochs
            trainer.observe(thread: call.thread, call: call.number)
            if trainer.epochs > epochs { measured.append(trainer.similarity) }
        }
        let expected = ReferenceBoSC(window: 10, perThread: true).similarities(calls, epoch: 1000)
        #expect(measured.count == expected.count)
        for (got, want) in zip(measured, expected) {
            #expect((got == nil) == (want == nil))
            if let got, let want { #expect(abs(got - want) < 1e-9) }
        }
    }

    @Test func aSteadyProgramIsStableAfterTheFirstEpochAndThreeMore() {
        let calls = (0..<100_000).map { Call(thread: 1, number: [0, 1, 3, 0, 1, 39, 232][$0 % 7]) }
        let trainer = BoSCTrainer(parameters: parameters())
        let finishedAt = calls.firstIndex { trainer.observe(thread: $0.thread, call: $0.number) }
        #expect(finishedAt == 3999)
        #expect(trainer.completion == .stable && trainer.stableEpochsInRow == 3)
    }

    @Test func stabilityWaitsForTheMinimumTrainingTime() {
        var settings = parameters()
        settings.minimumTrainingSeconds = 10
        let trainer = BoSCTrainer(parameters: settings)
        // A steady loop, a call every millisecond: stable after 4 epochs (4 s), not ended before 10 s.
        let finishedAt = (0..<100_000).first { trainer.observe(thread: 1, call: [0, 1, 3][$0 % 3], time: 1_000_000_000 + UInt64($0) * 1_000_000) }
        #expect(finishedAt == 10_999)
        #expect(trainer.completion == .stable && trainer.epochs == 11)
    }

    @Test func aChangingProgramIsNotStable() {
        // Each epoch a new pattern: the database keeps changing shape.
        var calls: [Call] = []
        for epoch in 0..<6 { calls += (0..<1000).map { Call(thread: 1, number: [epoch, 100 + epoch, 200][$0 % 3]) } }
        let trainer = train(calls, parameters())
        #expect(trainer.completion == nil)
        #expect(trainer.stableEpochsInRow == 0)
    }

    @Test func callAndDurationLimitsEndTraining() {
        var byCalls = parameters()
        byCalls.similarity = 2
        byCalls.trainingCalls = 2500
        let stream = programLikeStream(calls: 5000, seed: 3)
        let trainer = train(stream, byCalls)
        #expect(trainer.completion == .calls && trainer.calls == 2500)

        var byTime = parameters()
        byTime.similarity = 2
        byTime.trainingSeconds = 2
        let timed = BoSCTrainer(parameters: byTime)
        let finishedAt = (0..<10_000).first { timed.observe(thread: 1, call: $0 % 5, time: 5_000_000_000 + UInt64($0) * 1_000_000) }
        #expect(finishedAt == 2000)
        #expect(timed.completion == .duration)
    }
}
