import Dispatch
import Engine
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Container names, images and labels from Docker, cached. The events stream fills the cache as
/// containers are created, so that the sensor rarely waits; a container the cache lacks is
/// inspected on the spot (the sensor waits for it, so its first alert has its name).
final class ContainerMetadata: Sendable {
    private let client: DockerClient
    private let cache = Mutex<[String: ContainerFacts]>([:])
    private let reachable = Atomic<Bool>(true)
    private let onWarning: @Sendable (String) -> Void

    init(client: DockerClient, onWarning: @escaping (String) -> Void) {
        self.client = client
        let warn = UncheckedSendable(onWarning)
        self.onWarning = { warn.value($0) }
    }

    /// Fills the cache with the running containers and follows Docker's events until `isStopped`.
    func start(isStopped: @escaping @Sendable () -> Bool) {
        do {
            for id in try client.runningContainerIDs() { _ = lookUp(id: id) }
        } catch {
            reachable.store(false, ordering: .relaxed)
            onWarning("\(error); container names and images will be empty, ids still work")
        }
        DispatchQueue(label: "sentinel.docker-events").async { [self] in
            var warned = !reachable.load(ordering: .relaxed)
            while !isStopped() {
                do {
                    try client.followEvents(shouldStop: isStopped) { change in
                        switch change {
                        case .created(let id): _ = lookUp(id: id)
                        case .destroyed(let id): cache.withLock { _ = $0.removeValue(forKey: id) }
                        }
                    }
                    reachable.store(true, ordering: .relaxed)
                    warned = false
                } catch {
                    if !warned { onWarning("Docker's events stream: \(error); retrying every second") }
                    warned = true
                }
                if !isStopped() { sleep(1) }
            }
        }
    }

    /// The facts of container `id` (full or short), from the cache or asked of Docker now.
    func facts(id: String) -> ContainerFacts? {
        if let cached = cache.withLock({ $0[id] }) { return cached }
        return lookUp(id: id)
    }

    private func lookUp(id: String) -> ContainerFacts? {
        do {
            guard let facts = try client.inspect(id: id) else { return nil }
            cache.withLock { $0[id] = facts }
            reachable.store(true, ordering: .relaxed)
            return facts
        } catch {
            if reachable.exchange(false, ordering: .relaxed) {
                onWarning("\(error); container names and images will be empty until Docker answers")
            }
            return nil
        }
    }
}
