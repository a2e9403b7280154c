import Testing
@testable import Engine
import SentinelJSON

@Suite struct EventCodecTests {
    private func decode(_ line: String) -> (Event?, [String]) {
        let diagnostics = Diagnostics()
        guard case .success(let cursor) = JSONSource(name: "rec.jsonl", bytes: Array(line.utf8), firstLine: 7).parse() else {
            return (nil, ["unparsable"])
        }
        let event = EventCodec.decode(cursor, diagnostics: diagnostics)
        return (event, diagnostics.all.map(\.description))
    }

    @Test func everyEventTypeRoundTrips() throws {
        let lines = [
            #"{"evt.type":"container","evt.time":5,"container.id":"abc","container.name":"web","container.image":"nginx:1"}"#,
            #"{"evt.type":"container","evt.time":5,"container.id":"abc","container.name":"","container.image":"","container.removed":true}"#,
            #"{"evt.type":"execve","evt.time":6,"container.id":"abc","proc.pid":10,"proc.ppid":1,"proc.name":"sh","proc.exepath":"/bin/sh","proc.args":["sh","-c","x"],"proc.cwd":"/","proc.tty":0,"user.uid":0,"user.euid":0,"user.name":"root","group.gid":0}"#,
            #"{"evt.type":"clone","evt.time":7,"proc.pid":11,"proc.ppid":10}"#,
            #"{"evt.type":"procexit","evt.time":8,"proc.pid":11,"evt.arg.status":1}"#,
            #"{"evt.type":"openat","evt.time":9,"proc.pid":10,"fd.name":"/etc/x","evt.arg.flags":"O_WRONLY|O_CREAT","evt.rawres":3}"#,
            #"{"evt.type":"openat","evt.time":9,"proc.pid":10,"fd.name":"/tmp/tool","evt.arg.flags":"O_WRONLY|O_CREAT","evt.arg.mode":493,"evt.rawres":3}"#,
            #"{"evt.type":"close","evt.time":10,"proc.pid":10,"fd.l4proto":"tcp","fd.direction":"inbound","fd.cip":"::1","fd.cport":5,"fd.sip":"::1","fd.sport":80,"evt.rawres":0,"fd.bytes_in":1,"fd.bytes_out":2,"fd.segs_in":3,"fd.segs_out":4}"#,
            #"{"evt.type":"setuid","evt.time":11,"proc.pid":10,"evt.arg.uid":0}"#,
            #"{"evt.type":"setuid","evt.time":11,"proc.pid":10,"evt.arg.uid":1000,"evt.after.user.uid":1000,"evt.after.user.euid":1000,"evt.after.group.gid":100,"evt.after.thread.cap_effective":"","evt.after.thread.cap_permitted":"CAP_NET_RAW"}"#,
            #"{"evt.type":"execve","evt.time":6,"proc.pid":12,"proc.ppid":1,"proc.exepath":"/tmp/x","proc.is_exe_upper_layer":true,"proc.exe_ino":42,"proc.exe_ino.ctime":5,"proc.exe_ino.mtime":4}"#,
            #"{"evt.type":"syscall","evt.time":12,"proc.pid":10,"proc.tid":12,"syscall.nr":39}"#,
            #"{"evt.type":"http","evt.time":13,"container.id":"abc","fd.direction":"inbound","fd.cip":"169.254.77.1","fd.cport":40000,"fd.sip":"169.254.77.2","fd.sport":80,"http.method":"GET","http.uri":"/?q=1","http.host":"shop","http.user_agent":"curl/8"}"#,
            #"{"evt.type":"httpresponse","evt.time":14,"container.id":"abc","fd.direction":"outbound","fd.cip":"169.254.77.2","fd.cport":40000,"fd.sip":"169.254.77.1","fd.sport":80,"http.status":200,"http.content_type":"application/octet-stream","http.method":"GET","http.uri":"/x.sh"}"#,
            #"{"evt.type":"dns","evt.time":15,"container.id":"abc","fd.l4proto":"udp","fd.direction":"outbound","fd.cip":"169.254.77.2","fd.cport":5353,"fd.sip":"169.254.77.1","fd.sport":53,"dns.qname":"pool.example","dns.qtype":"TXT","dns.rcode":"NXDOMAIN","dns.is_response":true}"#,
            #"{"evt.type":"tls","evt.time":16,"container.id":"abc","fd.direction":"outbound","fd.cip":"169.254.77.2","fd.cport":40001,"fd.sip":"169.254.77.1","fd.sport":443,"tls.sni":"c2.example"}"#,
            #"{"evt.type":"mysql","evt.time":17,"proc.pid":77,"container.id":"abc","fd.direction":"inbound","fd.cip":"169.254.77.1","fd.cport":40002,"fd.sip":"169.254.77.2","fd.sport":3306,"mysql.query":"SELECT 1","mysql.query_truncated":false,"mysql.user":"app"}"#,
            #"{"evt.type":"mysql","evt.time":18,"container.id":"web","fd.direction":"outbound","fd.cip":"169.254.77.1","fd.cport":40003,"fd.sip":"169.254.77.2","fd.sport":3306,"peer.container.id":"db","mysql.query":"SELECT 2"}"#,
        ]
        for line in lines {
            let (event, errors) = decode(line)
            #expect(errors.isEmpty, "\(errors)")
            let encoded = EventCodec.encode(try #require(event))
            #expect(encoded.contains("peer.container.id") == line.contains("peer.container.id"), "\(encoded)")
            let (again, _) = decode(encoded)
            #expect(EventCodec.encode(try #require(again)) == encoded)
            for key in ["evt.after.group.gid", "evt.after.thread.cap_permitted", "proc.exe_ino.mtime", "proc.is_exe_upper_layer"] where line.contains(key) {
                #expect(encoded.contains(key), "\(encoded)")
            }
        }
    }

    /// README's table of recorded keys is the codec's, row for row.
    @Test func everyRecordedKeyIsDocumented() throws {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        let readme = String(decoding: try #require(readWholeFile(path + "/README.md")), as: UTF8.self)
        for (key, meaning) in EventCodec.recordedKeys {
            let row = "| `\(key)` | \(meaning.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|")) |"
            #expect(readme.contains(row), "README lacks \(row)")
        }
    }

    @Test func timesMayBeISO8601() throws {
        let (event, errors) = decode(#"{"evt.type":"clone","evt.time":"2026-11-22T10:00:00.25Z","proc.pid":2,"proc.ppid":1}"#)
        #expect(errors.isEmpty)
        #expect(try #require(event).time == 1_795_341_600_250_000_000)
    }

    @Test(arguments: [
        (#"{"evt.type":"execve","evt.time":1,"proc.pid":1,"proc.pname":"x"}"#,
         #"rec.jsonl:7:48: proc.pname: "proc.pname" is derived by the engine from its tables and is not recorded"#),
        (#"{"evt.type":"execve","evt.time":1,"proc.pdi":1}"#, #"rec.jsonl:7:35: proc.pdi: unknown key "proc.pdi" (did you mean "proc.pid"?)"#),
        (#"{"evt.type":"exec","evt.time":1,"proc.pid":1}"#, #"rec.jsonl:7:13: evt.type: unknown event type "exec" (did you mean "execve"?)"#),
        (#"{"evt.type":"execve","evt.time":"noon","proc.pid":1}"#, #"rec.jsonl:7:33: evt.time: "noon" is not an ISO 8601 time (2026-11-22T14:04:24.5Z)"#),
        (#"{"evt.type":"execve","evt.time":1}"#, #"rec.jsonl:7:1: missing required key "proc.pid""#),
        (#"{"evt.type":"connect","evt.time":1,"proc.pid":1,"fd.cip":"1.2.3.4","fd.cport":1,"fd.sip":"1.2.3","fd.sport":80}"#,
         #"rec.jsonl:7:90: fd.sip: "1.2.3" is not an IPv4 or IPv6 address"#),
        (#"{"evt.type":"connect","evt.time":1,"proc.pid":1,"fd.cip":"1.2.3.4","fd.cport":1,"fd.sip":"1.2.3.5","fd.sport":70000}"#,
         #"rec.jsonl:7:111: fd.sport: port 70000 is out of range 0...65535"#),
        (#"{"evt.type":"connect","evt.time":1,"proc.pid":1,"fd.sip":"1.2.3.4","fd.sport":1,"fd.dip":"1.2.3.5","fd.dport":80}"#,
         #"rec.jsonl:7:81: fd.dip: recorded with the old names, in which fd.sip was the client: rename fd.sip to fd.cip, fd.sport to fd.cport, then fd.dip to fd.sip and fd.dport to fd.sport (README, "Recorded events")"#),
        (#"{"evt.type":"execve","evt.time":1,"proc.pid":1,"proc.args":"sh -c x"}"#, #"rec.jsonl:7:60: proc.args: expected an array, found a string"#),
        (#"{"evt.type":"execve","evt.time":1,"proc.pid":1,"container.name":"x"}"#,
         #"rec.jsonl:7:1: container.name belongs in a container event; process events name only container.id"#),
        (#"{"evt.type":"openat","evt.time":1,"proc.pid":1,"fd.name":"/x","evt.arg.flags":"O_WEIRD"}"#,
         #"rec.jsonl:7:79: evt.arg.flags: "O_WEIRD" is not a list of open flags such as "O_WRONLY|O_CREAT""#),
    ])
    func malformedEventsAreLocated(line: String, message: String) {
        let (event, errors) = decode(line)
        #expect(event == nil)
        #expect(errors.first == message)
    }
}
