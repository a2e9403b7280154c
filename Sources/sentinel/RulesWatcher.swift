import Dispatch
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `watch_rules: true`: a change to a rule file or the config file asks for a reload, as a SIGHUP
/// would. It watches the folders that hold them (inotify), so that what editors and Kubernetes do
/// is seen too: an editor writes a new file and renames it over the old one; a ConfigMap volume
/// swaps its `..data` symlink to a new folder in one rename. Changes are gathered until 250 ms
/// pass without one, so that a `cp -r` of many files makes one reload.
final class RulesWatcher: @unchecked Sendable {
    private struct Watched {
        let directory: String
        /// Only these names in it; nil for every rule file (`*.json`) of a rules folder.
        let names: Set<String>?
    }

    private let descriptor: Int32
    private var watches: [Int32: Watched] = [:]
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let onChange: @Sendable () -> Void

    /// `paths`: rule folders and files, and the config file.
    init(paths: [String], onChange: @escaping @Sendable () -> Void) throws {
        self.onChange = onChange
        descriptor = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard descriptor >= 0 else { throw WatchError(message: "inotify: \(String(cString: strerror(errno)))") }
        var byDirectory: [String: Set<String>?] = [:]
        for path in paths {
            var status = stat()
            let isDirectory = stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
            if isDirectory {
                byDirectory[path] = .some(nil)
            } else {
                let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
                let name = String(path.split(separator: "/").last ?? "")
                if case .some(.some(var names)) = byDirectory[directory] {
                    names.insert(name)
                    byDirectory[directory] = .some(names)
                } else if byDirectory[directory] == nil {
                    byDirectory[directory] = .some([name])
                }
            }
        }
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE)
        for (directory, names) in byDirectory {
            let watch = inotify_add_watch(descriptor, directory.isEmpty ? "/" : directory, mask)
            guard watch >= 0 else {
                close(descriptor)
                throw WatchError(message: "cannot watch \(directory): \(String(cString: strerror(errno)))")
            }
            watches[watch] = Watched(directory: directory, names: names ?? nil)
        }
        DispatchQueue(label: "sentinel.watch-rules").async { [self] in loop() }
    }

    deinit {
        close(descriptor)
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }

    private func loop() {
        defer { finished.signal() }
        var changedAt: Double?
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while !stopped.load(ordering: .relaxed) {
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&waiting, 1, 50) > 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count > 0, relevant(buffer[0..<count]) { changedAt = monotonicSeconds() }
            }
            if let changed = changedAt, monotonicSeconds() - changed >= 0.25 {
                changedAt = nil
                onChange()
            }
        }
    }

    /// Whether any event in the buffer names a watched file, a rule file, or a ConfigMap's swap.
    private func relevant(_ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        let header = MemoryLayout<inotify_event>.size
        var found = false
        while offset + header <= bytes.endIndex {
            let event = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset - bytes.startIndex, as: inotify_event.self) }
            let nameBytes = bytes[(offset + header)..<min(offset + header + Int(event.len), bytes.endIndex)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            if let watched = watches[event.wd] {
                if let names = watched.names {
                    found = found || names.contains(name) || name == "..data"
                } else {
                    found = found || name.hasSuffix(".json") || name == "..data"
                }
            }
            offset += header + Int(event.len)
        }
        return found
    }

}

struct WatchError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
