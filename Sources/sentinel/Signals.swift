import Dispatch
import Sensors

#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM stop the sensor (the command then finishes its work: drains the outputs,
/// closes the recording); SIGUSR1 calls `onReopen` (the outputs reopen their files: Falco's signal
/// for it, which logrotate configs written for Falco send); SIGHUP calls `onHangup`. Cancel the
/// returned sources when the sensor has stopped.
func handleSignals(stopping sensor: Sensor, onReopen: @escaping @Sendable () -> Void,
                   onHangup: @escaping @Sendable () -> Void) -> [DispatchSourceSignal] {
    signal(SIGPIPE, SIG_IGN)
    let queue = DispatchQueue(label: "sentinel.signals")
    let box = UncheckedBox(sensor)
    let actions: [(Int32, @Sendable () -> Void)] = [
        (SIGINT, { box.value.stop() }), (SIGTERM, { box.value.stop() }), (SIGUSR1, onReopen), (SIGHUP, onHangup),
    ]
    // A supervisor may start us with these blocked; we handle them, so take them back.
    var handled = sigset_t()
    sigemptyset(&handled)
    for (number, _) in actions { sigaddset(&handled, number) }
    pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    return actions.map { number, action in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}

/// Hands a non-Sendable reference to the signal queue; `Sensor.stop` is safe from any thread.
private final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
