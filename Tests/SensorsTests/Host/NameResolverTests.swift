import Engine
@testable import Sensors
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct NameResolverTests {
    /// The host's resolver answers for localhost from /etc/hosts, offline as anywhere.
    @Test func aRuleNameResolvesAndNamesItsAddresses() throws {
        let addresses = NameResolver.addresses(of: "localhost")
        let loopback = try #require(IPAddress("127.0.0.1"))
        #expect(addresses.contains(loopback), "\(addresses)")
        #expect(NameResolver.addresses(of: "no-such-name.invalid").isEmpty)

        let table = ResolvedNames()
        table.update("localhost", to: addresses)
        #expect(table.name(of: loopback) == "localhost")
        table.update("localhost", to: [])
        #expect(table.name(of: loopback) == nil, "an address the name no longer gives loses the name")
    }

    @Test func theResolverFillsTheTableOnItsOwnQueue() throws {
        let table = ResolvedNames()
        let resolver = NameResolver(names: ["localhost"], interval: 60)
        resolver.start(into: table)
        defer { resolver.stop() }
        var named = false
        for _ in 0..<100 where !named {
            named = table.name(of: IPAddress("127.0.0.1")!) == "localhost"
            if !named { usleep(20_000) }
        }
        #expect(named)
    }
}
