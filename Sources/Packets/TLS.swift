/// What a stream parser made of the bytes it was given so far.
public enum StreamParse<Value> {
    /// A whole message, which took `consumed` bytes.
    case complete(Value, consumed: Int)
    /// The message goes on past the bytes there are.
    case needMore
    case failure(PacketProblem)
}

/// The TLS ClientHello: the one message of a TLS connection sent in clear that says where the
/// client is going (its server name, SNI).
public enum TLSClientHello {
    /// Whether a stream that begins with these bytes is TLS: a handshake record of TLS 1.0 to 1.3.
    public static func looksLikeTLS(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 3 && bytes[0] == 0x16 && bytes[1] == 0x03 && bytes[2] <= 0x04
    }

    /// The server name in the ClientHello at the start of `bytes` (nil when it names none).
    public static func serverName(_ bytes: UnsafeRawBufferPointer) -> StreamParse<String?> {
        var record = ByteReader(bytes)
        guard let type = record.u8(), record.skip(2), let recordLength = record.u16() else { return .needMore }
        guard type == 0x16 else { return .failure(PacketProblem("TLS record type \(type) is not a handshake")) }
        guard recordLength <= 16_384 + 2048 else { return .failure(PacketProblem("TLS record length \(recordLength) is too long")) }
        guard let body = record.take(Int(recordLength)) else { return .needMore }
        var hello = ByteReader(body)
        guard let handshakeType = hello.u8(), let handshakeLength = hello.u24() else {
            return .failure(PacketProblem("TLS handshake header cut short"))
        }
        guard handshakeType == 1 else { return .failure(PacketProblem("TLS handshake type \(handshakeType) is not a ClientHello")) }
        guard let message = hello.take(Int(handshakeLength)) else {
            return .failure(PacketProblem("a ClientHello of \(handshakeLength) bytes in a record of \(recordLength) (spanning records is not read)"))
        }
        switch serverName(inClientHello: message) {
        case .success(let name): return .complete(name, consumed: record.offset)
        case .failure(let problem): return .failure(problem)
        }
    }

    private static func serverName(inClientHello message: UnsafeRawBufferPointer) -> Result<String?, PacketProblem> {
        var reader = ByteReader(message)
        guard reader.skip(2 + 32), let sessionLength = reader.u8(), reader.skip(Int(sessionLength)),
              let suitesLength = reader.u16(), reader.skip(Int(suitesLength)),
              let compressionLength = reader.u8(), reader.skip(Int(compressionLength)) else {
            return .failure(PacketProblem("ClientHello cut short before its extensions"))
        }
        // Extensions are optional (TLS 1.0 and SSL 3 clients may send none).
        guard let extensionsLength = reader.u16() else { return .success(nil) }
        guard let extensions = reader.take(Int(extensionsLength)) else { return .failure(PacketProblem("ClientHello extensions cut short")) }
        var list = ByteReader(extensions)
        while !list.isAtEnd {
            guard let type = list.u16(), let length = list.u16(), let data = list.take(Int(length)) else {
                return .failure(PacketProblem("ClientHello extension cut short"))
            }
            guard type == 0 else { continue }
            // server_name: a list of (type, name); type 0 is a host name.
            var names = ByteReader(data)
            guard let listLength = names.u16(), let entries = names.take(Int(listLength)) else {
                return .failure(PacketProblem("server_name extension cut short"))
            }
            var entry = ByteReader(entries)
            while !entry.isAtEnd {
                guard let nameType = entry.u8(), let nameLength = entry.u16(), let name = entry.take(Int(nameLength)) else {
                    return .failure(PacketProblem("server_name entry cut short"))
                }
                if nameType == 0 { return .success(name.text) }
            }
            return .success(nil)
        }
        return .success(nil)
    }
}
