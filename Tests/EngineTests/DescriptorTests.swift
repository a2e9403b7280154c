import Testing
@testable import Engine

/// What a described descriptor is called, from the inode's mode, its name and its socket family,
/// with Falco's names and characters.
struct DescriptorTests {
    @Test(arguments: [
        (0o100644, "/etc/hostname", 0, Descriptor.Kind.file, "f"), (0o040755, "/tmp", 0, .directory, "d"),
        (0o140777, nil, 2, .ipv4, "4"), (0o140777, nil, 10, .ipv6, "6"), (0o140777, nil, 1, .unix, "u"),
        (0o140777, nil, 16, .netlink, "n"), (0o140777, nil, 17, .unknown, "o"), (0o010600, "/", 0, .pipe, "p"),
        (0o100600, "/[eventfd]", 0, .event, "e"), (0o000600, "/[signalfd]", 0, .signalfd, "s"), (0o000600, "/[eventpoll]", 0, .eventpoll, "l"),
        (0o000600, "/inotify", 0, .inotify, "i"), (0o000600, "/[timerfd]", 0, .timerfd, "t"), (0o000600, "/bpf-prog", 0, .bpf, "b"),
        (0o000600, "/[userfaultfd]", 0, .userfaultfd, "u"), (0o000600, "/[io_uring]", 0, .ioUring, "r"),
        (0o100777, "/memfd:x (deleted)", 0, .memfd, "m"), (0o020666, "/dev/null", 0, .file, "f"),
    ] as [(UInt32, String?, UInt16, Descriptor.Kind, String)])
    func kinds(_ mode: UInt32, _ name: String?, _ family: UInt16, _ kind: Descriptor.Kind, _ character: String) {
        let found = Descriptor.Kind(mode: mode, name: name, family: family)
        #expect(found == kind)
        #expect(found.character == character)
    }

    @Test func aSocketIsNamedByItsEnds() {
        let local = Endpoint(address: IPAddress("fd00::3")!, port: 80)
        #expect(Descriptor(number: 4, kind: .ipv6, local: local).displayName() == "[fd00::3]:80")
        #expect(Descriptor(number: 4, kind: .ipv6, local: local, remote: Endpoint(address: IPAddress("fd00::5")!, port: 5000)).displayName()
                == "[fd00::3]:80->[fd00::5]:5000")
        #expect(Descriptor(number: 4, kind: .pipe).displayName() == nil)
    }
}
