/// Paths opened for writing, per container, remembered so that running one of them afterwards is
/// recognised as running a dropped binary (`proc.is_exe_written`). Bounded: the oldest are forgotten.
struct WrittenFiles {
    private let capacity: Int
    private var members: Set<String> = []
    private var order: [String] = []
    private var oldest = 0

    init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    mutating func insert(container: ContainerRecord, path: String) {
        let key = Self.key(container, path)
        guard members.insert(key).inserted else { return }
        if order.count < capacity {
            order.append(key)
        } else {
            members.remove(order[oldest])
            order[oldest] = key
            oldest = (oldest + 1) % capacity
        }
    }

    func contains(container: ContainerRecord, path: String) -> Bool {
        !members.isEmpty && members.contains(Self.key(container, path))
    }

    private static func key(_ container: ContainerRecord, _ path: String) -> String { container.id + "\0" + path }
}
