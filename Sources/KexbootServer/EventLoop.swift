#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KexbootOS
internal import CKexboot
import Synchronization

/// One thread that waits on file descriptors and timers with poll(2) and runs their
/// handlers, one at a time. Everything the daemon owns (connections, the option registry,
/// autoboot) is touched only from here, so it needs no locks; other threads hand work in
/// with `execute`, which wakes the loop through an eventfd. (NIO's event loop, small.)
public final class EventLoop: @unchecked Sendable {
    public typealias Handler = (_ revents: Int16) -> Void

    private let wakeFD: Int32
    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private var handlers: [Int32: (events: Int16, handler: Handler)] = [:]
    private var timers: [(deadline: Double, id: Int, action: () -> Void)] = []
    private var nextTimer = 0
    private var running = false

    public init() {
        wakeFD = kx_eventfd()
        precondition(wakeFD >= 0, "eventfd failed")
    }

    deinit { close(wakeFD) }

    /// Seconds on the monotonic clock.
    public static func now() -> Double { monotonicSeconds() }

    /// Runs `work` on the loop's thread. Safe from any thread.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        inbox.withLock { $0.append(work) }
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    // The rest is for the loop's own thread.

    public func register(_ fd: Int32, events: Int16, _ handler: @escaping Handler) {
        handlers[fd] = (events, handler)
    }

    public func update(_ fd: Int32, events: Int16) {
        handlers[fd]?.events = events
    }

    public func unregister(_ fd: Int32) {
        handlers[fd] = nil
    }

    @discardableResult
    public func schedule(after seconds: Double, _ action: @escaping () -> Void) -> Int {
        nextTimer += 1
        timers.append((EventLoop.now() + seconds, nextTimer, action))
        return nextTimer
    }

    public func cancel(timer id: Int) {
        timers.removeAll { $0.id == id }
    }

    public func stop() {
        running = false
    }

    /// Runs until `stop()` is called (from a handler or through `execute`).
    public func run() {
        running = true
        while running {
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            for (fd, entry) in handlers { fds.append(pollfd(fd: fd, events: entry.events, revents: 0)) }
            var timeout: Int32 = -1
            if let soonest = timers.map(\.deadline).min() {
                timeout = Int32(max(0, min(60_000, ((soonest - EventLoop.now()) * 1000).rounded(.up))))
            }
            let n = poll(&fds, nfds_t(fds.count), timeout)
            if n < 0 && errno != EINTR { fatalError("poll: \(String(cString: strerror(errno)))") }
            if n > 0 {
                if fds[0].revents != 0 {
                    var value: UInt64 = 0
                    _ = read(wakeFD, &value, 8)
                }
                for p in fds.dropFirst() where p.revents != 0 {
                    // A handler earlier in this round may have closed this descriptor.
                    guard let entry = handlers[p.fd] else { continue }
                    entry.handler(p.revents)
                }
            }
            let work = inbox.withLock { queue -> [@Sendable () -> Void] in
                defer { queue.removeAll() }
                return queue
            }
            for w in work { w() }
            let now = EventLoop.now()
            let due = timers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            if !due.isEmpty {
                let ids = Set(due.map(\.id))
                timers.removeAll { ids.contains($0.id) }
                for t in due { t.action() }
            }
        }
    }
}

/// A thread that runs blocking jobs (probing a disk, copying a kernel) one after another,
/// in order, off the event loop.
public final class WorkQueue: @unchecked Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var thread: pthread_t?

    public init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        let box = Unmanaged.passRetained(self)
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let queue = Unmanaged<WorkQueue>.fromOpaque(arg!).takeRetainedValue()
            queue.loop()
            return nil
        }, box.toOpaque())
        pthread_detach(t)
        thread = t
    }

    public func async(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        jobs.withLock { $0.append(job) }
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while jobs.withLock({ $0.isEmpty }) { pthread_cond_wait(&condition, &mutex) }
            let job = jobs.withLock { $0.removeFirst() }
            pthread_mutex_unlock(&mutex)
            job()
        }
    }
}
