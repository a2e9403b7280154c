import SentinelJSON

#if canImport(Glibc)
import Glibc
#endif

/// The state directory's profiles: one JSON file per profile, replaced atomically, so that a crash
/// leaves the old profile or the new one, never half of one.
public struct ProfileStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `image-nginx_1.27-3f2a9c1e.json`: readable (by the image's name where the value is a
    /// digest), and the hash of the value keeps apart values that the readable part makes equal
    /// ("a/b" and "a_b"), and one tag's builds.
    public func path(key: BoSCParameters.ProfileKey, value: String, image: String = "") -> String {
        let prefix = switch key {
        case .imageID: "image-id"
        case .image: "image"
        case .id: "container"
        }
        let readable = fileNameSafe(String((key == .imageID && !image.isEmpty ? image : value).unicodeScalars.prefix(80)))
        var hash: UInt32 = 0x811C_9DC5
        for byte in value.utf8 { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let hex = String(hash, radix: 16)
        return "\(directory)/\(prefix)-\(readable)-\(String(repeating: "0", count: 8 - hex.count))\(hex).json"
    }

    /// Creates the directory (and its parents) if need be, and removes what a run killed in the
    /// middle of a save left: its temporary file (the profile itself is the old one, whole).
    public func create() throws(FileError) {
        if let error = createDirectories(directory) { throw error }
        for name in listDirectory(directory) where name.contains(".json.tmp-") {
            unlink("\(directory)/\(name)")
        }
    }

    public func save(_ profile: StoredProfile) throws(FileError) {
        if let error = replaceFileAtomically(path(key: profile.key, value: profile.value, image: profile.image), with: ProfileFile.encode(profile)) {
            throw error
        }
    }

    /// Every profile in the directory; a file that cannot be read is reported, not skipped in
    /// silence. A directory that does not exist holds no profiles.
    public func loadAll(parameters: BoSCParameters = BoSCParameters(), diagnostics: Diagnostics) -> [StoredProfile] {
        let names = listDirectory(directory).filter { $0.hasSuffix(".json") }
        return names.compactMap { name in
            guard let source = diagnostics.take(JSONSource.load(path: "\(directory)/\(name)")) else { return nil }
            return ProfileFile.decode(source, parameters: parameters, diagnostics: diagnostics)
        }
    }
}
