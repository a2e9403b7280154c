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
}
