import Engine
import SentinelJSON
import Testing
@testable import BoSC

@Suite struct ProfileFileTests {
    private func reread(_ stored: StoredProfile) throws -> StoredProfile {
        let diagnostics = Diagnostics()
        let decoded = ProfileFile.decode(JSONSource(name: "profile.json", bytes: ProfileFile.encode(stored)), diagnostics: diagnostics)
        #expect(diagnostics.all.isEmpty, "\(diagnostics.all)")
        return try #require(decoded)
    }

    @Test func aProfileReadBackJudgesAlike() throws {
        let training = programLikeStream(calls: 20_000, seed: 31)
        let profile = BoSCProfile(trainer: train(training, parameters()), key: .image, value: "mariadb:11")
        guard case .detecting(let reread) = try reread(.detecting(profile)) else {
            Issue.record("not a detecting profile")
            return
        }
        #expect(reread.bags == profile.bags)
        #expect(reread.slotCalls == profile.slotCalls && reread.trainingCalls == profile.trainingCalls)
        #expect(reread.training == profile.training && reread.value == "mariadb:11")

        let judged = programLikeStream(calls: 10_000, noise: 150, seed: 32)
        let before = judge(judged, with: BoSCDetector(profile: profile, parameters: parameters()))
        let after = judge(judged, with: BoSCDetector(profile: reread, parameters: parameters()))
        #expect(before == after && before.contains { $0.mismatches > 0 })
    }

    @Test func trainingGoesOnFromWhereItWasSaved() throws {
        var settings = parameters()
        settings.similarity = 2
        let trainer = train(programLikeStream(calls: 5500, seed: 41), settings)
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        guard case .training(let key, let value, let image, let restored) = try reread(.training(key: .imageID, value: digest, image: "app:1", trainer: trainer)) else {
            Issue.record("not a training profile")
            return
        }
        #expect(key == .imageID && value == digest && image == "app:1")
        #expect(restored.calls == 5500 && restored.epochs == 5 && restored.similarity == trainer.similarity)
        #expect(restored.callCounts == trainer.callCounts)
        #expect(restored.bags.mapValues(\.frequency) == trainer.bags.mapValues(\.frequency))

        // It goes on with the parameters it is read with: the rule's, not the defaults.
        var ruleParameters = parameters(epoch: 500)
        ruleParameters.trainingCalls = 6000
        let reread = ProfileFile.decode(JSONSource(name: "profile.json", bytes: ProfileFile.encode(.training(key: .image, value: "app:1", image: "", trainer: trainer))),
                                        parameters: ruleParameters, diagnostics: Diagnostics())
        guard case .training(_, _, _, let continued)? = reread else {
            Issue.record("not a training profile")
            return
        }
        #expect(continued.parameters.epoch == 500 && continued.parameters.trainingCalls == 6000)
    }

    @Test func problemsAreReportedWhereTheyAre() throws {
        let diagnostics = Diagnostics()
        let source = try #require(diagnostics.take(JSONSource.load(path: fixtures + "/bad-profile.json")))
        #expect(ProfileFile.decode(source, diagnostics: diagnostics) .map { _ in true } == nil)
        let messages = diagnostics.all.map(\.description)
        #expect(messages.contains { $0.hasPrefix(fixtures + "/bad-profile.json:13:") && $0.contains("bags[1].calls.close: \"close\" is not a call of this profile") })
        #expect(messages.contains { $0.contains(":14:") && $0.contains("bags[2].calls: the bag holds 4 calls, the window is 3") })
        #expect(messages.count == 2)
    }
}
