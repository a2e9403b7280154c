// swift-tools-version:6.0
import PackageDescription

// One direction of dependency: Sensors and Outputs know Engine; Engine knows neither.
// Rules turns rule files into the Engine's compiled rules and hosts the built-in rule types.
let package = Package(
    name: "sentinel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sentinel", targets: ["sentinel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Reads Falco's YAML rule files for `sentinel rules import` (keeps each node's line and column).
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // A JSON reader that keeps the line and column of every value, so that errors can say where.
        .target(name: "SentinelJSON"),
        // Release builds leave out the run-time exclusivity checks on the engine's hot path (a
        // swift_beginAccess per table and counter update, 5% of the engine's profile with Falco's
        // rules loaded; BENCHMARKS.md): the engine runs on one thread and debug builds, which the
        // tests use, keep every check.
        .target(name: "Engine", dependencies: ["SentinelJSON"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // The Bag of System Calls: training, profiles and the user-space detector.
        .target(name: "BoSC", dependencies: ["Engine", "SentinelJSON"]),
        // Application protocols read from captured frames (no libpcap here: fuzzed and tested alone).
        .target(name: "Packets", dependencies: ["Engine"]),
        .target(name: "Rules", dependencies: ["Engine", "SentinelJSON", "BoSC"]),
        // libbpf from Debian's libbpf-dev, and the record layouts of bpf/include/records.h.
        .systemLibrary(name: "CLibbpf", pkgConfig: "libbpf", providers: [.apt(["libbpf-dev", "libelf-dev"])]),
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        .target(name: "Sensors", dependencies: ["Engine", "SentinelJSON", "CLibbpf", "CPcap", "Packets", "BoSC"], plugins: ["BPFCompiler"]),
        // Compiles bpf/*.bpf.c and embeds the objects into Sensors.
        .plugin(name: "BPFCompiler", capability: .buildTool(), dependencies: ["bpf-embed"]),
        .executableTarget(name: "bpf-embed"),
        // libcurl and zlib from Debian, for the http output (HTTPSink says why libcurl).
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Outputs", dependencies: ["Engine", "SentinelJSON", "CCurl", "CZlib"]),
        // sentinel's own pages (/healthz, /metrics, /versions), served by GNU libmicrohttpd.
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        .target(name: "Web", dependencies: ["CMicroHTTPD"]),
        // Sinks that keep, stall or refuse alerts, for the unit tests of what sits in front of outputs.
        .target(name: "OutputsTestSupport", dependencies: ["Outputs", "Engine"]),
        // `sentinel rules import`: Falco's YAML rule files, with Falco's semantics, into sentinel's JSON.
        .target(name: "FalcoImport", dependencies: ["Rules", "SentinelJSON", .product(name: "Yams", package: "Yams")]),
        .executableTarget(
            name: "sentinel",
            dependencies: [
                "Engine", "Rules", "Sensors", "Outputs", "BoSC", "FalcoImport", "Web",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `swift run -c release engine-bench`: the engine's throughput on a generated stream.
        .executableTarget(name: "engine-bench", dependencies: ["Engine", "Rules", "SentinelJSON"]),
        // `swift run -c release bosc-bench FILE`: the user-space BoSC detector on a recorded stream.
        .executableTarget(name: "bosc-bench", dependencies: ["BoSC", "Engine", "SentinelJSON"]),
        // bench/bosc-evaluation's arithmetic: false and true positives over recorded runs.
        .executableTarget(name: "bosc-evaluation", dependencies: ["BoSC", "Engine", "SentinelJSON", "Sensors"]),

        // bench/http-output: the http output's alerts per second to a local receiver.
        .executableTarget(name: "outputs-bench", dependencies: ["Outputs", "Engine"]),
        // bench/packets: a pcap of mixed traffic through the dissectors and the stock rules.
        .executableTarget(name: "packets-bench", dependencies: ["Packets", "Sensors", "Engine", "Rules", "SentinelJSON"]),
        // The dissectors under libFuzzer (fuzz/run), or replaying a corpus (the tests).
        .executableTarget(name: "sentinel-fuzz", dependencies: ["Packets", "Engine", "SentinelJSON", "Rules", "FalcoImport", "BoSC"]),

        .testTarget(name: "SentinelJSONTests", dependencies: ["SentinelJSON"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "SentinelJSON"]),
        .testTarget(name: "RulesTests", dependencies: ["Rules", "Engine", "SentinelJSON", "BoSC"], exclude: ["Fixtures"]),
        .testTarget(name: "SensorsTests", dependencies: ["Sensors", "Engine", "SentinelJSON", "CLibbpf", "BoSC", "Packets"]),
        .testTarget(name: "BoSCTests", dependencies: ["BoSC", "Engine", "SentinelJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "PacketsTests", dependencies: ["Packets", "Engine"]),
        .testTarget(name: "FalcoImportTests", dependencies: ["FalcoImport", "Rules", "SentinelJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "WebTests", dependencies: ["Web"]),
        .testTarget(name: "OutputsTests", dependencies: ["Outputs", "OutputsTestSupport", "Engine", "SentinelJSON"], exclude: ["Fixtures"]),
        // Runs the built `sentinel` binary as a user would; the dependency makes sure it is built.
        .testTarget(name: "sentinelTests", dependencies: ["sentinel", "sentinel-fuzz", "CLibbpf"], exclude: ["Fixtures"]),
    ]
)
