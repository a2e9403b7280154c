import Engine
import Testing
@testable import BoSC

@Suite struct BagHashTests {
    @Test func theSetHoldsWhatWasInsertedAndNothingElse() {
        var random = SplitMix64(seed: 5)
        let inserted = (0..<10_000).map { _ in random.next() } + [0]
        let set = BagHashSet(inserted)
        #expect(set.count == inserted.count)
        #expect(inserted.allSatisfy(set.contains))
        #expect((0..<10_000).map { _ in random.next() }.allSatisfy { !set.contains($0) })
    }

    @Test func aBagsHashDoesNotDependOnOrder() {
        #expect(BagHash.of(slots: [3, 1, 2, 1]) == BagHash.of(slots: [1, 1, 2, 3]))
        #expect(BagHash.of(slots: [1, 1, 2, 3]) != BagHash.of(slots: [1, 2, 2, 3]))
    }
}
