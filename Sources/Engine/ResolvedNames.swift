import Synchronization

/// The names rules compare `fd.sip.name` and its kin with, and the addresses each resolves to, as
/// Falco keeps them: the names come from the rules (`fd.sip.name = "api.example.com"`), a
/// resolver outside the engine looks them up again and again, and a socket's address is named by
/// the name that resolved to it. An address no such name resolved to has no name.
///
/// Shared by the engine's thread, which reads it per evaluation of such a field only, and the
/// resolver's, which replaces a name's addresses after each look-up.
public final class ResolvedNames: Sendable {
    public static let shared = ResolvedNames()

    private let names = Mutex<[IPAddress: String]>([:])
    private let addressesByName = Mutex<[String: [IPAddress]]>([:])

    public init() {}

    public func name(of address: IPAddress) -> String? {
        names.withLock { $0[address] }
    }

    /// `name` resolves to `addresses` now; the addresses it had before and no longer has lose it.
    public func update(_ name: String, to addresses: [IPAddress]) {
        let old = addressesByName.withLock { table in
            defer { table[name] = addresses }
            return table[name] ?? []
        }
        names.withLock { table in
            for address in old where table[address] == name { table[address] = nil }
            for address in addresses { table[address] = name }
        }
    }

    /// The fields whose values come from here.
    public static let fieldNames: Set<String> = ["fd.sip.name", "fd.cip.name", "fd.lip.name", "fd.rip.name"]
}
