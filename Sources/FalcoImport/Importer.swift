import Engine
import Rules
import SentinelJSON

/// `sentinel rules import`: Falco rule files in, sentinel rule files out, one JSON file per YAML
/// file, loadable together as a directory.
///
/// Decisions, also in README:
/// - Falco's semantics are applied here, in the order of the files: a later definition replaces,
///   appends and overrides fold into the item where it was first defined. Each JSON file holds the
///   items first defined in its YAML file, in their final form; a change made by a later file
///   shows in the report, not as an override in the later JSON file.
/// - Conditions and outputs are carried verbatim: sentinel reads Falco's language.
/// - An item sentinel cannot load (a field or event type it lacks, a source other than syscall) is
///   left out, with every item that uses it, and reported with its YAML line and why; what is
///   written always loads. The JSON's `imported` key records what was left out and the versions
///   the file required.
public enum FalcoImporter {
    public struct Input {
        public let name: String
        public let text: String

        public init(name: String, text: String) {
            (self.name, self.text) = (name, text)
        }
    }

    public struct Output {
        public let path: String
        public let bytes: [UInt8]
    }

    public struct Counts: Equatable {
        public var lists = 0, macros = 0, rules = 0
        public var listsCarried = 0, macrosCarried = 0, rulesCarried = 0

        public var isComplete: Bool { rules == rulesCarried && macros == macrosCarried && lists == listsCarried }

        /// `falco_rules.yaml: 25 of 25 rules, 87 of 87 macros, 49 of 49 lists carried`.
        public func line(for file: String) -> String {
            "\(file): \(rulesCarried) of \(rules) rules, \(macrosCarried) of \(macros) macros, \(listsCarried) of \(lists) lists carried"
        }
    }

    public struct Result {
        /// Errors in the input (nothing is written when there are any), then what was not carried
        /// and other notes, as warnings.
        public let diagnostics: [Diagnostic]
        public let outputs: [Output]
        /// Per input file, in order: the items first defined there, and how many were carried.
        public let counts: [Counts]
        public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    }

    public static func convert(_ inputs: [Input], outputDirectory: String) -> Result {
        let diagnostics = Diagnostics()
        var collector = FalcoCollector(diagnostics: diagnostics)
        for (index, input) in inputs.enumerated() {
            for document in composeDocuments(input.text, file: input.name, diagnostics) {
                collector.add(document: document, fileIndex: index)
            }
        }
        let paths = outputPaths(inputs.map(\.name), outputDirectory, diagnostics)
        if diagnostics.hasErrors {
            return Result(diagnostics: diagnostics.sorted(fileOrder: inputs.map(\.name)), outputs: [], counts: [])
        }
        var files = SentinelRuleFiles(collector: collector, paths: paths, inputNames: inputs.map(\.name))
        for key in collector.order {
            if case .rule(let name) = key, let rule = collector.rules[name], rule.source != "syscall" {
                files.leaveOut(key, because: rule.cursor.diagnostic("not carried: source \"\(rule.source)\"; sentinel judges system calls and its own packet events", severity: .warning))
            }
        }
        var outputs: [Output] = []
        switch files.leaveOutWhatDoesNotLoad() {
        case .success(let loaded): outputs = loaded
        case .failure(let stray): diagnostics.add(contentsOf: stray.errors)
        }
        for reason in files.notCarried.values { diagnostics.add(reason) }
        return Result(diagnostics: diagnostics.sorted(fileOrder: inputs.map(\.name)), outputs: outputs, counts: files.counts())
    }

    /// `DIR/NAME.json` for `NAME.yaml`; two inputs of one name are an error.
    private static func outputPaths(_ names: [String], _ directory: String, _ diagnostics: Diagnostics) -> [String] {
        var seen: [String: String] = [:]
        return names.map { name in
            var base = String(name.split(separator: "/").last ?? Substring(name))
            for suffix in [".yaml", ".yml"] where base.hasSuffix(suffix) { base.removeLast(suffix.count) }
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + base + ".json"
            if let earlier = seen[path] {
                diagnostics.add(Diagnostic(file: name, location: nil, path: "", message: "would be written to \(path), as \(earlier) is: rename one of them"))
            }
            seen[path] = name
            return path
        }
    }
}

/// The JSON files being written: which items each holds, and which are left out and why.
struct SentinelRuleFiles {
    let collector: FalcoCollector
    let paths: [String]
    let inputNames: [String]
    private(set) var notCarried: [ItemKey: Diagnostic] = [:]

    init(collector: FalcoCollector, paths: [String], inputNames: [String]) {
        (self.collector, self.paths, self.inputNames) = (collector, paths, inputNames)
    }

    /// Leaves an item out, and every item that names it.
    mutating func leaveOut(_ key: ItemKey, because reason: Diagnostic) {
        guard notCarried[key] == nil else { return }
        notCarried[key] = reason
        let name: String
        switch key {
        case .list(let list): name = list
        case .macro(let macro): name = macro
        case .rule: return
        }
        for user in collector.order where notCarried[user] == nil && names(of: user).contains(name) {
            leaveOut(user, because: cursor(of: user).diagnostic("not carried: uses \(key), which is not carried", severity: .warning))
        }
    }

    /// Errors of the loader that point at no item: sentinel's own fault, not the rules'.
    struct StrayErrors: Error {
        let errors: [Diagnostic]
    }

    /// Loads what would be written; leaves out each item an error points into (a rule with
    /// skip-if-unknown-filter is left out as Falco skips it), and again until it loads. Returns
    /// the files that loaded, or the errors that point at no item.
    mutating func leaveOutWhatDoesNotLoad() -> Swift.Result<[FalcoImporter.Output], StrayErrors> {
        while true {
            let (sources, layout) = sourcesAndLayout()
            let diagnostics = Diagnostics()
            do {
                _ = try RuleLoader.load(sources: sources, diagnostics: diagnostics)
                return .success(sources.map { FalcoImporter.Output(path: $0.name, bytes: $0.bytes) })
            } catch {
                var stray: [Diagnostic] = []
                var progress = false
                for problem in diagnostics.errors {
                    guard let key = layout.item(at: problem) else {
                        stray.append(problem)
                        continue
                    }
                    guard notCarried[key] == nil else { continue }
                    let at = cursor(of: key)
                    let skipped = if case .rule(let name) = key, collector.rules[name]?.skipIfUnknownFilter == true { " (skip-if-unknown-filter)" } else { "" }
                    leaveOut(key, because: Diagnostic(severity: .warning, file: at.file, location: at.location, path: at.path,
                                                      message: "not carried\(skipped): \(problem.message)", excerpt: problem.excerpt))
                    progress = true
                }
                if !progress {
                    return .failure(StrayErrors(errors: stray.map {
                        Diagnostic(file: $0.file, location: $0.location, path: $0.path, message: "the imported rules do not load: \($0.message)", excerpt: $0.excerpt)
                    }))
                }
            }
        }
    }

    func counts() -> [FalcoImporter.Counts] {
        var counts = Array(repeating: FalcoImporter.Counts(), count: paths.count)
        for key in collector.order {
            let carried = notCarried[key] == nil ? 1 : 0
            let home = self.home(of: key)
            switch key {
            case .list: counts[home].lists += 1; counts[home].listsCarried += carried
            case .macro: counts[home].macros += 1; counts[home].macrosCarried += carried
            case .rule: counts[home].rules += 1; counts[home].rulesCarried += carried
            }
        }
        return counts
    }

    // MARK: - Writing

    /// Where each written item is, to find the item a diagnostic of the loader points into.
    struct Layout {
        var items: [String: [String: [ItemKey]]] = [:]

        func item(at diagnostic: Diagnostic) -> ItemKey? {
            // A path such as `rules[12].condition` or `macros[3]`.
            guard let open = diagnostic.path.firstIndex(of: "["), let close = diagnostic.path.firstIndex(of: "]"),
                  let index = Int(diagnostic.path[diagnostic.path.index(after: open)..<close]),
                  let keys = items[diagnostic.file]?[String(diagnostic.path[..<open])], index < keys.count else { return nil }
            return keys[index]
        }
    }

    func sourcesAndLayout() -> (sources: [JSONSource], layout: Layout) {
        var layout = Layout()
        var sources: [JSONSource] = []
        for (fileIndex, path) in paths.enumerated() {
            let carried = collector.order.filter { home(of: $0) == fileIndex && notCarried[$0] == nil }
            var writer = JSONWriter(indent: 2)
            writer.beginObject()
            writeNote(fileIndex, &writer)
            var placed: [String: [ItemKey]] = [:]
            for (section, matches) in [("lists", { (key: ItemKey) in if case .list = key { true } else { false } }),
                                       ("macros", { (key: ItemKey) in if case .macro = key { true } else { false } }),
                                       ("rules", { (key: ItemKey) in if case .rule = key { true } else { false } })] {
                let keys = carried.filter(matches)
                guard !keys.isEmpty else { continue }
                writer.key(section)
                writer.beginArray()
                for key in keys { write(key, &writer) }
                writer.endArray()
                placed[section] = keys
            }
            writer.endObject()
            layout.items[path] = placed
            sources.append(JSONSource(name: path, bytes: writer.bytes + [0x0A]))
        }
        return (sources, layout)
    }

    private func writeNote(_ fileIndex: Int, _ writer: inout JSONWriter) {
        writer.key("imported")
        writer.beginObject()
        writer.key("from")
        writer.string(inputNames[fileIndex])
        if let version = collector.engineVersions[fileIndex] {
            writer.key("required_engine_version")
            writer.string(version)
        }
        if let plugins = collector.pluginVersions[fileIndex] {
            writer.key("required_plugin_versions")
            writer.beginArray()
            for plugin in plugins {
                writer.beginObject()
                writer.key("name"); writer.string(plugin.name)
                writer.key("version"); writer.string(plugin.version)
                writer.endObject()
            }
            writer.endArray()
        }
        let left = collector.order.filter { home(of: $0) == fileIndex && notCarried[$0] != nil }
        if !left.isEmpty {
            writer.key("not_carried")
            writer.beginArray()
            for key in left {
                let reason = notCarried[key]!
                writer.beginObject()
                writer.key("item"); writer.string(key.description)
                // A later file may have defined it again: the place says which text failed.
                writer.key("at"); writer.string("\(reason.file):\(reason.location?.line ?? 0)")
                writer.key("why"); writer.string(String(reason.message.dropFirst(reason.message.hasPrefix("not carried: ") ? 13 : 0)))
                writer.endObject()
            }
            writer.endArray()
        }
        writer.endObject()
    }

    private func write(_ key: ItemKey, _ writer: inout JSONWriter) {
        writer.beginObject()
        switch key {
        case .list(let name):
            let list = collector.lists[name]!
            writer.key("list"); writer.string(name)
            writer.key("items")
            writer.beginArray()
            for item in list.items { writer.string(item) }
            writer.endArray()
        case .macro(let name):
            writer.key("macro"); writer.string(name)
            writer.key("condition"); writer.string(collector.macros[name]!.condition)
        case .rule(let name):
            let rule = collector.rules[name]!
            writer.key("rule"); writer.string(name)
            writer.key("desc"); writer.string(rule.description)
            writer.key("condition"); writer.string(rule.condition)
            writer.key("output"); writer.string(rule.output)
            writer.key("priority"); writer.string(rule.priority.ruleName)
            if !rule.tags.isEmpty {
                writer.key("tags")
                writer.beginArray()
                for tag in rule.tags { writer.string(tag) }
                writer.endArray()
            }
            if !rule.enabled {
                writer.key("enabled"); writer.bool(false)
            }
            if !rule.exceptions.isEmpty {
                writer.key("exceptions")
                writer.beginArray()
                for exception in rule.exceptions { write(exception, &writer) }
                writer.endArray()
            }
        }
        writer.endObject()
    }

    private func write(_ exception: ImportedException, _ writer: inout JSONWriter) {
        func write(_ names: ImportedException.Names, _ writer: inout JSONWriter) {
            switch names {
            case .one(let name): writer.string(name)
            case .many(let names):
                writer.beginArray()
                for name in names { writer.string(name) }
                writer.endArray()
            }
        }
        func write(_ value: ImportedException.Value, _ writer: inout JSONWriter) {
            switch value {
            case .scalar(let text): writer.string(text)
            case .sequence(let values):
                writer.beginArray()
                for value in values { write(value, &writer) }
                writer.endArray()
            }
        }
        writer.beginObject()
        writer.key("name"); writer.string(exception.name)
        if let fields = exception.fields { writer.key("fields"); write(fields, &writer) }
        if let comps = exception.comps { writer.key("comps"); write(comps, &writer) }
        writer.key("values")
        writer.beginArray()
        for value in exception.values { write(value, &writer) }
        writer.endArray()
        writer.endObject()
    }

    // MARK: - Items

    private func home(of key: ItemKey) -> Int {
        switch key {
        case .list(let name): return collector.lists[name]!.home
        case .macro(let name): return collector.macros[name]!.home
        case .rule(let name): return collector.rules[name]!.home
        }
    }

    private func cursor(of key: ItemKey) -> YAMLCursor {
        switch key {
        case .list(let name): return collector.lists[name]!.cursor
        case .macro(let name): return collector.macros[name]!.cursor
        case .rule(let name): return collector.rules[name]!.cursor
        }
    }

    /// The words of an item's text that could name a list or macro: an over-approximation (a
    /// word inside a quoted value counts too), which can only leave out more, never load less.
    private func names(of key: ItemKey) -> Set<String> {
        var texts: [String] = []
        switch key {
        case .list(let name): texts = collector.lists[name]!.items
        case .macro(let name): texts = [collector.macros[name]!.condition]
        case .rule(let name):
            let rule = collector.rules[name]!
            texts = [rule.condition]
            func collect(_ value: ImportedException.Value) {
                switch value {
                case .scalar(let text): texts.append(text)
                case .sequence(let values): values.forEach(collect)
                }
            }
            rule.exceptions.flatMap(\.values).forEach(collect)
        }
        var words: Set<String> = []
        for text in texts {
            for word in text.split(whereSeparator: { " \t\n\r(),=!<>[]'\"".contains($0) }) { words.insert(String(word)) }
        }
        return words
    }
}
