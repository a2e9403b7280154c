import Foundation
import Testing
@testable import Sensors

@Suite struct AccountNamesTests {
    @Test func passwdAndGroupLinesGiveNamesById() {
        let names = AccountNames.parse("""
            root:x:0:0:root:/root:/bin/bash
            # a comment
            www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin
            toor:x:0:0::/root:/bin/sh
            broken line
            :x:5:5::/:/bin/sh
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
            """)
        // The first name of an id wins, as getpwuid's does.
        #expect(names == [0: "root", 33: "www-data", 65534: "nobody"])
        #expect(AccountNames.parse("staff:x:50:alice,bob\n") == [50: "staff"])
    }

    /// A container's files are read through its process's root; a uid missing there is looked
    /// up again only once the interval has passed.
    @Test func aContainersFilesAreItsOwn() throws {
        var accounts = AccountNames()
        let pid = getpid()
        // This process's root is the host's: as a container's, it reads the same files.
        let host = accounts.names(uid: 0, gid: 0, containerID: "c0ffee000001", pid: pid, now: 100)
        #expect(host.user == "root" && host.group == "root")
        #expect(accounts.names(uid: 4_000_000, gid: 0, containerID: "c0ffee000001", pid: -1, now: 101).user == nil)
        // pid -1 has no root to read: what was read at 100 stands.
        #expect(accounts.names(uid: 0, gid: 0, containerID: "c0ffee000001", pid: -1, now: 105).user == "root")
        #expect(accounts.names(uid: 4_000_000, gid: 0, containerID: "c0ffee000001", pid: -1, now: 111).user == nil)
        #expect(accounts.names(uid: 0, gid: 0, containerID: "c0ffee000001", pid: -1, now: 112).user == "root")
        // Another container is read for itself.
        #expect(accounts.names(uid: 0, gid: 0, containerID: "c0ffee000002", pid: -1, now: 112).user == nil)
    }

    /// A container's files are its own to shape: a symlink (which would resolve against the
    /// host's root), a FIFO (which would stall the read) or a huge file is refused.
    @Test func aContainersFileIsReadOnlyAsARegularFileOfItsOwn() throws {
        let directory = NSTemporaryDirectory() + "sentinel-accounts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "root:x:0:0::/:/bin/sh\n".write(toFile: directory + "/etc/passwd", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: directory + "/etc/link", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: directory + "/linked", withDestinationPath: directory + "/etc")
        #expect(mkfifo(directory + "/etc/fifo", 0o600) == 0)
        // This process's root is "/": the paths are relative to it.
        let base = String(directory.dropFirst())
        let pid = getpid()
        #expect(readContainerFile(pid: pid, path: base + "/etc/passwd") == "root:x:0:0::/:/bin/sh\n")
        #expect(readContainerFile(pid: pid, path: base + "/etc/link") == nil)
        #expect(readContainerFile(pid: pid, path: base + "/linked/passwd") == nil)
        #expect(readContainerFile(pid: pid, path: base + "/etc/fifo") == nil)
        #expect(readContainerFile(pid: pid, path: base + "/etc/passwd", limit: 10) == nil)
        #expect(readContainerFile(pid: -1, path: "etc/passwd") == nil)
    }
}
