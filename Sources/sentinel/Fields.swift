import ArgumentParser
import Engine
import SentinelJSON

struct Fields: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List every field a condition or an output may use, with its type and meaning.")

    @Flag(name: .long, help: "Print JSON: one object per field with name, type, event_types and description.")
    var json = false

    func run() throws {
        if json {
            var writer = JSONWriter()
            writer.beginArray()
            for field in FieldRegistry.all {
                writer.beginObject()
                writer.key("name"); writer.string(field.displayName)
                writer.key("type"); writer.string(field.type.rawValue)
                writer.key("event_types")
                writer.beginArray()
                for type in EventType.allCases where field.eventTypes.contains(type) { writer.string(type.name) }
                writer.endArray()
                writer.key("description"); writer.string(field.description)
                writer.endObject()
            }
            writer.endArray()
            printLine(writer.text)
            return
        }
        let width = FieldRegistry.all.map(\.displayName.count).max() ?? 0
        for field in FieldRegistry.all {
            let name = field.displayName.padding(to: width)
            let type = field.type.rawValue.padding(to: 6)
            printLine("\(name)  \(type)  \(field.description)")
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
