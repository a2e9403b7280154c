import Foundation
import PackagePlugin

/// Compiles every bpf/*.bpf.c with the toolchain's clang (`-target bpf`, CO-RE, BTF) and embeds the
/// objects in the target that uses this plugin, so `swift build` alone builds the probes.
@main
struct BPFCompiler: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let bpfDirectory = context.package.directoryURL.appending(path: "bpf")
        let includeDirectory = bpfDirectory.appending(path: "include")
        let fileManager = FileManager.default
        let sources = try fileManager.contentsOfDirectory(atPath: bpfDirectory.path())
            .filter { $0.hasSuffix(".bpf.c") }
            .sorted()
        let headers = try fileManager.contentsOfDirectory(atPath: includeDirectory.path())
            .map { includeDirectory.appending(path: $0) }
        let clang = try context.tool(named: "clang").url
        // linux/bpf.h includes asm/types.h, which Debian keeps under the host's multiarch directory.
        let multiarchIncludes = "/usr/include/x86_64-linux-gnu"

        var commands: [Command] = []
        var objects: [(name: String, url: URL)] = []
        for source in sources {
            let name = String(source.dropLast(".bpf.c".count))
            let input = bpfDirectory.appending(path: source)
            let object = context.pluginWorkDirectoryURL.appending(path: "\(name).bpf.o")
            commands.append(.buildCommand(
                displayName: "Compiling eBPF program \(source)",
                executable: clang,
                arguments: ["-target", "bpf", "-O2", "-g", "-Wall", "-Werror",
                            "-I", multiarchIncludes, "-c", input.path(), "-o", object.path()],
                inputFiles: [input] + headers,
                outputFiles: [object]
            ))
            objects.append((name, object))
        }
        let generated = context.pluginWorkDirectoryURL.appending(path: "EmbeddedBPFObjects.swift")
        commands.append(.buildCommand(
            displayName: "Embedding eBPF objects",
            executable: try context.tool(named: "bpf-embed").url,
            arguments: [generated.path()] + objects.map { "\($0.name)=\($0.url.path())" },
            inputFiles: objects.map(\.url),
            outputFiles: [generated]
        ))
        return commands
    }
}
