//! Listening, connection handling and graceful shutdown.
//!
//! One event loop per worker thread (a current-thread tokio runtime). The main thread accepts and
//! hands each connection to the worker with the fewest open connections; from then on the
//! connection stays on that thread, so requests never cross threads and per-connection state
//! needs no locks. (Workers accepting from a shared socket themselves split connections unevenly —
//! 2:1 was measured with wrk's 50 connections — which leaves one core idle while the other is
//! the bottleneck.) The main thread also waits for signals.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::handler::{self, HandlerConfig};
use crate::log::{self, Level, RateLimit};
use crate::tap::{Clock, HeadQueue, Recorder, Tap};

const BACKLOG: i32 = 1024;
/// Room above the largest head for body chunks in hyper's read buffer.
const READ_BUF_EXTRA: usize = 16 * 1024;
/// Answer sent to connections above the cap; written once without waiting, then closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 24\r\nconnection: close\r\n\r\ntoo many open connections";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("cannot start worker thread {index}: {source}")]
    Worker { index: usize, source: io::Error },
    #[error("cannot set up signal handling: {0}")]
    Signals(io::Error),
}

/// State shared by all worker threads.
struct Shared {
    cfg: Config,
    http: http1::Builder,
    open: AtomicUsize,
    /// Open connections per worker (counted from hand-over to close).
    loads: Vec<AtomicUsize>,
}

/// An accepted connection on its way to a worker.
type Handoff = (std::net::TcpStream, SocketAddr);

static CONN_ERRORS: RateLimit = RateLimit::new();
static OVERLOAD_WARNINGS: RateLimit = RateLimit::new();
static ACCEPT_ERRORS: RateLimit = RateLimit::new();

/// Binds a listening socket the way the server does (SO_REUSEADDR so restarts do not wait out
/// TIME_WAIT; IPv6 sockets keep the system's dual-stack default).
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Runs until SIGTERM or SIGINT, then drains. Returns once every connection finished or the
/// shutdown deadline passed.
pub fn run(cfg: Config) -> Result<(), ServerError> {
    let mut listeners = Vec::with_capacity(cfg.listen.len());
    for &addr in &cfg.listen {
        let l = bind(addr).map_err(|source| ServerError::Bind { addr, source })?;
        let local = l.local_addr().unwrap_or(addr);
        listeners.push(l);
        log::event(
            Level::Info,
            "listening",
            &[("addr", local.to_string().into())],
        );
    }

    let mut http = http1::Builder::new();
    // The tap enforces the header read timeout (see tap.rs), without a timer per request.
    http.timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_header_size(cfg.max_header_size)
        .max_buf_size(cfg.max_header_size + READ_BUF_EXTRA)
        .keep_alive(true)
        // With half-close off, hyper probes the socket for EOF while each request is being
        // handled, and that probe first reserves read-buffer room while the request still borrows
        // the buffer: a fresh 8 KiB buffer per request. Allowing half-close skips the probe (and
        // lets a client that shuts down its sending side still get its answer); a vanished
        // client is still noticed by the next read or write.
        .half_close(true)
        .writev(false);

    let threads = cfg.threads;
    let shutdown_timeout = cfg.shutdown_timeout;
    let shared = Arc::new(Shared {
        cfg,
        http,
        open: AtomicUsize::new(0),
        loads: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
    });

    // The signal handlers go in before any worker accepts, so an early SIGTERM is never lost.
    let main_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ServerError::Signals)?;
    let mut signals = main_rt
        .block_on(async { Signals::new() })
        .map_err(ServerError::Signals)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut handles = Vec::with_capacity(threads);
    let mut handoffs = Vec::with_capacity(threads);
    for index in 0..threads {
        let (conn_tx, conn_rx) = tokio::sync::mpsc::unbounded_channel::<Handoff>();
        handoffs.push(conn_tx);
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let done_tx = done_tx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("pywai-worker-{index}"))
            .spawn(move || {
                if let Err(e) = worker(index, conn_rx, shared, stop_rx) {
                    log::event(
                        Level::Error,
                        "worker failed",
                        &[("worker", index.into()), ("error", e.to_string().into())],
                    );
                }
                let _ = done_tx.send(());
            })
            .map_err(|source| ServerError::Worker { index, source })?;
        handles.push(handle);
    }
    drop(done_tx);
    let handoffs = Arc::new(handoffs);

    main_rt.block_on(async {
        let mut acceptors = Vec::with_capacity(listeners.len());
        for l in listeners {
            match TcpListener::from_std(l) {
                Ok(l) => acceptors.push(tokio::spawn(accept_loop(
                    l,
                    shared.clone(),
                    handoffs.clone(),
                ))),
                Err(e) => log::event(
                    Level::Error,
                    "accept failed",
                    &[("error", e.to_string().into())],
                ),
            }
        }
        let signal = tokio::select! {
            s = signals.recv() => s,
            // Every worker died: nothing is serving, so stop too.
            _ = done_rx.recv() => "worker exit",
        };
        log::event(
            Level::Info,
            "shutting down: no longer accepting, draining in-flight requests",
            &[
                ("signal", signal.into()),
                ("deadline_ms", (shutdown_timeout.as_millis() as u64).into()),
            ],
        );
        // Stop accepting: the listening sockets close with their tasks.
        for a in &acceptors {
            a.abort();
        }
        for a in acceptors {
            let _ = a.await;
        }
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(shutdown_timeout, async {
            while done_rx.recv().await.is_some() {}
        })
        .await;
        match drained {
            Ok(()) => log::event(Level::Info, "stopped", &[]),
            Err(_) => log::event(
                Level::Error,
                "shutdown deadline passed; closing remaining connections",
                &[(
                    "open_connections",
                    shared.open.load(Ordering::Relaxed).into(),
                )],
            ),
        }
    });
    Ok(())
}

struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Per-thread state.
struct Worker {
    index: usize,
    shared: Arc<Shared>,
    handler: Rc<handler::Worker>,
    clock: Rc<Clock>,
    stop: StopFlag,
    conns: Cell<usize>,
    idle: Notify,
}

/// The stop signal for one worker's tasks. Every connection task polls it alongside its
/// connection, so polling is a flag check (tokio's `Notify` takes a lock per poll).
#[derive(Default)]
struct StopFlag {
    stopped: Cell<bool>,
    wakers: RefCell<Vec<Option<Waker>>>,
    free: RefCell<Vec<usize>>,
}

impl StopFlag {
    fn is_set(&self) -> bool {
        self.stopped.get()
    }

    fn set(&self) {
        self.stopped.set(true);
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        self.free.borrow_mut().clear();
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
    }

    fn wait(&self) -> Stopped<'_> {
        Stopped {
            flag: self,
            slot: None,
        }
    }
}

/// Resolves once the worker is told to stop.
struct Stopped<'a> {
    flag: &'a StopFlag,
    slot: Option<usize>,
}

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.flag.is_set() {
            return Poll::Ready(());
        }
        let mut wakers = this.flag.wakers.borrow_mut();
        match this.slot.and_then(|i| wakers.get_mut(i)) {
            Some(Some(w)) if w.will_wake(cx.waker()) => {}
            Some(entry) => *entry = Some(cx.waker().clone()),
            None => {
                let waker = Some(cx.waker().clone());
                let i = match this.flag.free.borrow_mut().pop() {
                    Some(i) if i < wakers.len() => {
                        wakers[i] = waker;
                        i
                    }
                    _ => {
                        wakers.push(waker);
                        wakers.len() - 1
                    }
                };
                this.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

impl Drop for Stopped<'_> {
    fn drop(&mut self) {
        // Free the slot so the list stays as long as the number of live connections.
        if let Some(i) = self.slot
            && !self.flag.is_set()
            && let Some(entry) = self.flag.wakers.borrow_mut().get_mut(i)
        {
            *entry = None;
            self.flag.free.borrow_mut().push(i);
        }
    }
}

fn worker(
    index: usize,
    mut conn_rx: tokio::sync::mpsc::UnboundedReceiver<Handoff>,
    shared: Arc<Shared>,
    mut stop_rx: watch::Receiver<bool>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let handler = Rc::new(handler::Worker::new(HandlerConfig {
            access_log: shared.cfg.access_log,
            max_body: shared.cfg.max_body,
            body_read_timeout: shared.cfg.body_read_timeout,
        }));
        let w = Rc::new(Worker {
            index,
            shared,
            handler,
            clock: Rc::default(),
            stop: StopFlag::default(),
            conns: Cell::new(0),
            idle: Notify::new(),
        });
        tokio::task::spawn_local(sweep_head_deadlines(
            w.clock.clone(),
            w.shared.cfg.header_read_timeout,
        ));
        tokio::select! {
            // A dropped sender also means stop.
            _ = stop_rx.wait_for(|&stop| stop) => {}
            _ = receive_connections(&mut conn_rx, &w) => {}
        }
        // Connections handed over but not yet served are closed unanswered, like connections
        // still in a listening socket's backlog.
        conn_rx.close();
        while conn_rx.try_recv().is_ok() {
            w.shared.open.fetch_sub(1, Ordering::Relaxed);
            w.shared.loads[w.index].fetch_sub(1, Ordering::Relaxed);
        }
        w.stop.set();
        while w.conns.get() > 0 {
            w.idle.notified().await;
        }
        log::flush_access();
        Ok(())
    })
}

/// Drives the worker's coarse clock: a tick every quarter of the timeout (10 ms to 1 s).
async fn sweep_head_deadlines(clock: Rc<Clock>, timeout: Duration) {
    let tick = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let limit = timeout.as_nanos().div_ceil(tick.as_nanos().max(1)) as u64;
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        clock.advance_and_sweep(limit);
    }
}

/// Serves the connections the acceptor hands to this worker.
async fn receive_connections(
    conn_rx: &mut tokio::sync::mpsc::UnboundedReceiver<Handoff>,
    w: &Rc<Worker>,
) {
    while let Some((stream, peer)) = conn_rx.recv().await {
        match TcpStream::from_std(stream) {
            Ok(stream) => {
                w.conns.set(w.conns.get() + 1);
                tokio::task::spawn_local(serve(stream, peer, w.clone()));
            }
            Err(e) => {
                w.shared.open.fetch_sub(1, Ordering::Relaxed);
                w.shared.loads[w.index].fetch_sub(1, Ordering::Relaxed);
                if ACCEPT_ERRORS.allow(1) {
                    log::event(
                        Level::Error,
                        "accept failed",
                        &[("error", e.to_string().into())],
                    );
                }
            }
        }
    }
}

/// Accepts on one listening socket (on the main thread) and hands each connection to the worker
/// with the fewest open connections.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    handoffs: Arc<Vec<tokio::sync::mpsc::UnboundedSender<Handoff>>>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let cap = shared.cfg.max_connections;
                if shared.open.fetch_add(1, Ordering::Relaxed) >= cap {
                    shared.open.fetch_sub(1, Ordering::Relaxed);
                    reject_over_capacity(&stream, peer, cap);
                    continue;
                }
                let target = (0..shared.loads.len())
                    .min_by_key(|&i| shared.loads[i].load(Ordering::Relaxed))
                    .unwrap_or(0);
                let handed = stream.into_std().and_then(|std_stream| {
                    shared.loads[target].fetch_add(1, Ordering::Relaxed);
                    handoffs[target].send((std_stream, peer)).map_err(|_| {
                        shared.loads[target].fetch_sub(1, Ordering::Relaxed);
                        io::Error::other("worker has stopped")
                    })
                });
                if let Err(e) = handed {
                    shared.open.fetch_sub(1, Ordering::Relaxed);
                    if ACCEPT_ERRORS.allow(1) {
                        log::event(
                            Level::Error,
                            "accept failed",
                            &[("error", e.to_string().into())],
                        );
                    }
                }
            }
            Err(e) => {
                if ACCEPT_ERRORS.allow(1) {
                    log::event(
                        Level::Error,
                        "accept failed",
                        &[("error", e.to_string().into())],
                    );
                }
                // Out of descriptors or memory: back off instead of spinning on the error.
                if !matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
                ) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

fn reject_over_capacity(stream: &TcpStream, peer: SocketAddr, cap: usize) {
    // The socket's send buffer is empty, so this either writes it all or the client is gone.
    let _ = stream.try_write(OVER_CAPACITY);
    if OVERLOAD_WARNINGS.allow(1) {
        log::event(
            Level::Warn,
            "connection limit reached; rejecting with 503",
            &[
                ("client", peer.to_string().into()),
                ("max_connections", cap.into()),
            ],
        );
    }
}

/// Decrements the connection counts however the connection task ends.
struct ConnGuard(Rc<Worker>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let w = &self.0;
        w.shared.open.fetch_sub(1, Ordering::Relaxed);
        w.shared.loads[w.index].fetch_sub(1, Ordering::Relaxed);
        let n = w.conns.get().saturating_sub(1);
        w.conns.set(n);
        if n == 0 {
            w.idle.notify_one();
        }
    }
}

async fn serve(stream: TcpStream, peer: SocketAddr, w: Rc<Worker>) {
    let _guard = ConnGuard(w.clone());
    // Responses go out in one write; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let heads: HeadQueue = Rc::default();
    let io = TokioIo::new(Tap::new(
        stream,
        Recorder::new(heads.clone(), w.shared.cfg.max_header_size, w.clock.clone()),
    ));
    let conn_state = Rc::new(handler::Conn {
        peer,
        heads,
        worker: w.handler.clone(),
    });
    let svc = service_fn(move |req| handler::handle(req, conn_state.clone()));
    let conn = w.shared.http.serve_connection(io, svc);
    tokio::pin!(conn);

    let result = tokio::select! {
        biased;
        r = conn.as_mut() => r,
        _ = w.stop.wait() => {
            // Finishes the request in flight (if any), then closes.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Clients that vanish are routine; malformed input and timeouts are worth a line.
        if !(e.is_incomplete_message() || e.is_canceled() || is_reset(&e)) && CONN_ERRORS.allow(10)
        {
            log::event(
                Level::Warn,
                "connection error",
                &[
                    ("client", peer.to_string().into()),
                    ("error", e.to_string().into()),
                ],
            );
        }
    }
}

fn is_reset(e: &hyper::Error) -> bool {
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            // Timeouts too: idle keep-alive connections end that way all the time.
            return matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::TimedOut
            );
        }
        src = s.source();
    }
    false
}
