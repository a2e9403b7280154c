import Dispatch
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM stop the sensor (the command then finishes its work: drains the outputs,
/// closes the recording); SIGHUP calls `onHangup` (the outputs reopen their files). Cancel the
/// returned sources when the sensor has stopped.
func handleSignals(stopping sensor: Sensor, onHangup: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
    signal(SIGPIPE, SIG_IGN)
    let queue = DispatchQueue(label: "sentinel.signals")
    let box = UncheckedBox(sensor)
    var sources: [DispatchSourceSignal] = []
    // A supervisor may start us with these blocked; we handle them, so take them back.
    var handled = sigset_t()
    sigemptyset(&handled)
    for number in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&handled, number) }
    pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    for number in [SIGINT, SIGTERM, SIGHUP] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler {
            if number == SIGHUP { onHangup() } else { box.value.stop() }
        }
        source.resume()
        sources.append(source)
    }
    return sources
}

/// Hands a non-Sendable reference to the signal queue; `Sensor.stop` is safe from any thread.
private final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
