//! Read-side tap: keeps a copy of each raw request head as it arrives on a connection.
//!
//! hyper lower-cases header names and groups repeated names; its `preserve_header_case` record is
//! a private extension. To echo headers exactly as sent (order, case, duplicates) pywai watches
//! the bytes hyper reads, cuts out each request head, and skips the bodies by following the same
//! framing rules hyper does (Content-Length, chunked). The handler takes the heads in order from
//! a per-connection queue. If the tap ever cannot follow the stream it stops recording and the
//! handler falls back to hyper's parsed headers, so a confused tap can degrade output, never
//! corrupt a response.
//!
//! Because the tap knows where each head starts and ends, it also enforces the header read
//! timeout (slow-loris, idle keep-alive): a per-worker coarse clock and sweeper mark connections
//! whose wait for a complete head has lasted too long, and their next read or write fails. This
//! replaces hyper's own header timeout, which allocates and arms a timer for every request.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A worker's coarse clock: advanced by the worker's sweeper every tick, it times every
/// connection's wait for its next request head.
#[derive(Debug, Default)]
pub struct Clock {
    tick: Cell<u64>,
    deadlines: RefCell<Vec<Weak<Deadline>>>,
}

const NOT_WAITING: u64 = u64::MAX;

impl Clock {
    /// A deadline for a new connection, whose wait for its first head starts now.
    pub fn register(&self) -> Rc<Deadline> {
        let d = Rc::new(Deadline {
            since: Cell::new(self.tick.get()),
            expired: Cell::new(false),
            waker: RefCell::new(None),
        });
        self.deadlines.borrow_mut().push(Rc::downgrade(&d));
        d
    }

    /// Advances one tick and expires every wait older than `limit` ticks (so never early, and
    /// late by at most two ticks). Closed connections are dropped from the list.
    pub fn advance_and_sweep(&self, limit: u64) {
        let now = self.tick.get() + 1;
        self.tick.set(now);
        self.deadlines.borrow_mut().retain(|weak| {
            let Some(d) = weak.upgrade() else {
                return false;
            };
            let since = d.since.get();
            if since != NOT_WAITING && now.saturating_sub(since) > limit && !d.expired.get() {
                d.expired.set(true);
                if let Some(w) = d.waker.borrow_mut().take() {
                    w.wake();
                }
            }
            true
        });
    }
}

/// One connection's wait for a complete request head.
#[derive(Debug)]
pub struct Deadline {
    since: Cell<u64>,
    expired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Deadline {
    fn check(&self) -> io::Result<()> {
        if self.expired.get() {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "request head not received within the header read timeout",
            ))
        } else {
            Ok(())
        }
    }

    fn park(&self, waker: &Waker) {
        let mut slot = self.waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}

/// Heads recorded on one connection, shared between the tap and the handler.
pub type HeadQueue = Rc<RefCell<Heads>>;

/// One request head as received, with where each part lies in it (parsed once, here).
#[derive(Debug, Default)]
pub struct RecordedHead {
    pub raw: Vec<u8>,
    /// `[name start, name end, value start, value end]` into `raw`, in arrival order.
    pub fields: Vec<[u32; 4]>,
    pub method: [u32; 2],
    pub target: [u32; 2],
    /// The request line without its line ending.
    pub line: [u32; 2],
    /// Whether the request announced a body (Content-Length or Transfer-Encoding, even empty).
    pub declares_body: bool,
    /// Index in `fields` of the first `Accept` header.
    pub accept: Option<u32>,
}

impl RecordedHead {
    pub fn slice(&self, [start, end]: [u32; 2]) -> &[u8] {
        self.raw.get(start as usize..end as usize).unwrap_or(&[])
    }
}

/// Recorded heads, oldest first, plus spent ones kept for reuse so that steady-state keep-alive
/// traffic records heads without allocating.
#[derive(Debug, Default)]
pub struct Heads {
    queue: VecDeque<RecordedHead>,
    spare: Vec<RecordedHead>,
}

/// Spare buffers kept per connection, and the largest one worth keeping.
const MAX_SPARE: usize = 4;
const MAX_SPARE_CAPACITY: usize = 4096;

impl Heads {
    /// The oldest recorded head not yet handled.
    pub fn pop(&mut self) -> Option<RecordedHead> {
        self.queue.pop_front()
    }

    /// Gives a handled head's buffers back for reuse.
    pub fn recycle(&mut self, mut head: RecordedHead) {
        if self.spare.len() < MAX_SPARE
            && head.raw.capacity() <= MAX_SPARE_CAPACITY
            && head.fields.capacity() <= MAX_HEADERS
        {
            head.raw.clear();
            head.fields.clear();
            self.spare.push(head);
        }
    }

    fn spare(&mut self) -> RecordedHead {
        self.spare.pop().unwrap_or_default()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &RecordedHead> {
        self.queue.iter()
    }
}

/// Upper bound on recorded heads waiting for the handler. hyper handles one request at a time and
/// reads at most its buffer size ahead, so only small pipelined requests queue up (the bytes are
/// bounded by the read buffer anyway); a deeper pipeline than this just loses the raw view.
const MAX_QUEUED_HEADS: usize = 1024;
/// Same bound hyper uses by default.
const MAX_HEADERS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting bytes of the next request head.
    Head,
    /// Skipping a body of known remaining length.
    Body(u64),
    /// Reading a chunk-size line (hex digits, optional extensions, LF).
    ChunkSize {
        value: u64,
        digits: u8,
        in_ext: bool,
    },
    /// Skipping chunk data.
    ChunkData(u64),
    /// Skipping the CRLF after chunk data.
    ChunkDataEnd,
    /// Reading trailer lines after the last chunk; `line_len` counts the current line.
    Trailers { line_len: usize, total: usize },
    /// The tap could not follow the stream; nothing more is recorded on this connection.
    Lost,
}

/// The framing state machine, kept apart from the IO wrapper so it can be tested on byte slices.
#[derive(Debug)]
pub struct Recorder {
    state: State,
    head: Vec<u8>,
    /// Bytes of `head` already searched for an end-of-head marker.
    scanned: usize,
    max_head: usize,
    queue: HeadQueue,
    clock: Rc<Clock>,
    deadline: Rc<Deadline>,
}

impl Recorder {
    pub fn new(queue: HeadQueue, max_head: usize, clock: Rc<Clock>) -> Self {
        let deadline = clock.register();
        Self {
            state: State::Head,
            head: Vec::new(),
            scanned: 0,
            max_head,
            queue,
            clock,
            deadline,
        }
    }

    /// The wait for the next head starts now (a request and its body have fully arrived).
    fn await_head(&mut self) {
        self.state = State::Head;
        self.deadline.since.set(self.clock.tick.get());
    }

    /// Feeds bytes just read from the socket.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Lost => return,
                State::Head => data = self.feed_head(data),
                State::Body(left) => {
                    let n = take(left, data.len());
                    data = &data[n..];
                    let left = left - n as u64;
                    if left == 0 {
                        self.await_head();
                    } else {
                        self.state = State::Body(left);
                    }
                }
                State::ChunkSize {
                    value,
                    digits,
                    in_ext,
                } => {
                    let b = data[0];
                    data = &data[1..];
                    self.state = chunk_size_step(value, digits, in_ext, b);
                }
                State::ChunkData(left) => {
                    let n = take(left, data.len());
                    data = &data[n..];
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData(left)
                    };
                }
                State::ChunkDataEnd => {
                    let b = data[0];
                    data = &data[1..];
                    self.state = match b {
                        b'\r' => State::ChunkDataEnd,
                        b'\n' => State::ChunkSize {
                            value: 0,
                            digits: 0,
                            in_ext: false,
                        },
                        _ => State::Lost,
                    };
                }
                State::Trailers { line_len, total } => {
                    let b = data[0];
                    data = &data[1..];
                    if b == b'\n' && line_len == 0 {
                        self.await_head();
                        continue;
                    }
                    self.state = match b {
                        b'\n' => State::Trailers {
                            line_len: 0,
                            total: total + 1,
                        },
                        // A bare CR does not start a trailer line's content.
                        b'\r' => State::Trailers {
                            line_len,
                            total: total + 1,
                        },
                        _ if total >= self.max_head => State::Lost,
                        _ => State::Trailers {
                            line_len: line_len + 1,
                            total: total + 1,
                        },
                    };
                }
            }
            if self.state == State::Lost {
                // Body framing the tap cannot follow; `lose` also keeps the timeout running.
                self.lose();
                return;
            }
        }
    }

    /// Accumulates head bytes; returns the part of `data` after the head once it is complete.
    fn feed_head<'a>(&mut self, data: &'a [u8]) -> &'a [u8] {
        let before = self.head.len();
        // Fast path: a read that holds exactly one whole request without a body, the usual case
        // for keep-alive GETs, is parsed in place without searching for the empty line first.
        if before == 0 && data.len() <= self.max_head && data.ends_with(b"\r\n\r\n") {
            self.head.extend_from_slice(data);
            return match self.parse_head(0) {
                Some(consumed) => data.get(consumed..).unwrap_or(&[]),
                None => &[],
            };
        }

        // One byte over the limit is enough to know the head is too large.
        let room = (self.max_head + 1).saturating_sub(before);
        let n = data.len().min(room);
        self.head.extend_from_slice(&data[..n]);

        // Parse only once an empty line has arrived, so a sender trickling bytes costs one scan
        // per byte instead of one parse per byte.
        let start = self.scanned.saturating_sub(2);
        let has_end = has_empty_line(&self.head, start);
        self.scanned = self.head.len();
        if !has_end {
            if self.head.len() > self.max_head {
                self.lose();
            }
            return &[];
        }
        match self.parse_head(before) {
            Some(consumed) => data.get(consumed..).unwrap_or(&[]),
            None => &[],
        }
    }

    /// Parses the collected head; when complete, queues it and returns how many bytes of the
    /// latest read it used (`before` = bytes collected before that read).
    fn parse_head(&mut self, before: usize) -> Option<usize> {
        // Uninitialised: filling 100 empty headers per request costs more than the parse.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        match req.parse_with_uninit_headers(&self.head, &mut headers) {
            Ok(httparse::Status::Complete(len)) => {
                let Some(Framing {
                    next,
                    declares_body,
                    accept,
                }) = framing(req.headers)
                else {
                    self.lose();
                    return None;
                };
                let mut heads = self.queue.borrow_mut();
                if heads.queue.len() >= MAX_QUEUED_HEADS {
                    drop(heads);
                    self.lose();
                    return None;
                }
                let mut rec = heads.spare();
                // Offsets into the buffer; the head is at most `max_head` (≤ 1 MiB) long.
                let base = self.head.as_ptr() as usize;
                let at = |s: &[u8]| {
                    let start = (s.as_ptr() as usize).saturating_sub(base) as u32;
                    [start, start + s.len() as u32]
                };
                rec.fields.extend(req.headers.iter().map(|h| {
                    let [ns, ne] = at(h.name.as_bytes());
                    let [vs, ve] = at(h.value);
                    [ns, ne, vs, ve]
                }));
                rec.method = req.method.map_or([0, 0], |m| at(m.as_bytes()));
                rec.target = req.path.map_or([0, 0], |p| at(p.as_bytes()));
                let line_start = rec.method[0] as usize;
                let line_end = self.head[line_start..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(len, |i| line_start + i);
                let line_end = if line_end > line_start && self.head[line_end - 1] == b'\r' {
                    line_end - 1
                } else {
                    line_end
                };
                rec.line = [line_start as u32, line_end as u32];
                rec.declares_body = declares_body;
                rec.accept = accept;
                // Hand the collected buffer over (cut to the head); collect into the spare one.
                std::mem::swap(&mut rec.raw, &mut self.head);
                rec.raw.truncate(len);
                heads.queue.push_back(rec);
                drop(heads);
                self.scanned = 0;
                if next == State::Head {
                    self.await_head();
                } else {
                    // Reading the body is timed by the handler, not here.
                    self.deadline.since.set(NOT_WAITING);
                    self.state = next;
                }
                Some(len.saturating_sub(before))
            }
            // An empty line inside leading blank lines; keep collecting.
            Ok(httparse::Status::Partial) if self.head.len() <= self.max_head => None,
            _ => {
                self.lose();
                None
            }
        }
    }

    fn lose(&mut self) {
        self.state = State::Lost;
        self.head = Vec::new();
        // Heads can no longer be told apart, so the timer stops being reset: the connection gets
        // one header-timeout period from here (hyper closes most such connections at once anyway).
        if self.deadline.since.get() == NOT_WAITING {
            self.deadline.since.set(self.clock.tick.get());
        }
    }

    #[cfg(test)]
    fn is_lost(&self) -> bool {
        self.state == State::Lost
    }
}

fn take(left: u64, avail: usize) -> usize {
    usize::try_from(left).map_or(avail, |l| l.min(avail))
}

/// Whether `buf` has an empty line ending at or after `from`: LF LF or LF CR LF.
fn has_empty_line(buf: &[u8], from: usize) -> bool {
    let tail = buf.get(from..).unwrap_or(&[]);
    memchr::memchr_iter(b'\n', tail).any(|i| {
        let at = from + i;
        (at >= 1 && buf[at - 1] == b'\n')
            || (at >= 2 && buf[at - 1] == b'\r' && buf[at - 2] == b'\n')
    })
}

fn chunk_size_step(value: u64, digits: u8, in_ext: bool, b: u8) -> State {
    if b == b'\n' {
        if digits == 0 {
            return State::Lost;
        }
        return if value == 0 {
            State::Trailers {
                line_len: 0,
                total: 0,
            }
        } else {
            State::ChunkData(value)
        };
    }
    if in_ext || b == b'\r' {
        return State::ChunkSize {
            value,
            digits,
            in_ext: true,
        };
    }
    if b == b';' || b == b' ' || b == b'\t' {
        return State::ChunkSize {
            value,
            digits,
            in_ext: true,
        };
    }
    let Some(d) = (b as char).to_digit(16) else {
        return State::Lost;
    };
    // 16 hex digits is the largest u64; hyper rejects longer sizes too.
    if digits >= 16 {
        return State::Lost;
    }
    State::ChunkSize {
        value: value * 16 + u64::from(d),
        digits: digits + 1,
        in_ext: false,
    }
}

/// How the body after this head is framed, following RFC 9112 section 6.3 for requests.
/// `None` when hyper would reject the request anyway (it answers 400 and closes).
/// What the handler and the tap need to know about a head's headers, from one pass over them.
struct Framing {
    /// The state after the head: the next head, or a body to skip.
    next: State,
    declares_body: bool,
    accept: Option<u32>,
}

fn framing(headers: &[httparse::Header<'_>]) -> Option<Framing> {
    let mut length: Option<u64> = None;
    let mut chunked: Option<bool> = None;
    let mut accept = None;
    for (i, h) in headers.iter().enumerate() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or(&[]);
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value.trim_ascii()).ok()?;
            let n: u64 = v.parse().ok()?;
            if length.is_some_and(|prev| prev != n) {
                return None;
            }
            length = Some(n);
        } else if accept.is_none() && h.name.eq_ignore_ascii_case("accept") {
            // At most MAX_HEADERS fields.
            accept = Some(i as u32);
        }
    }
    let next = match (chunked, length) {
        (Some(true), _) => State::ChunkSize {
            value: 0,
            digits: 0,
            in_ext: false,
        },
        (Some(false), _) => return None,
        (None, Some(0) | None) => State::Head,
        (None, Some(n)) => State::Body(n),
    };
    Some(Framing {
        next,
        declares_body: chunked.is_some() || length.is_some(),
        accept,
    })
}

/// A stream whose reads also go through a [`Recorder`].
#[derive(Debug)]
pub struct Tap<T> {
    inner: T,
    recorder: Recorder,
}

impl<T> Tap<T> {
    pub fn new(inner: T, recorder: Recorder) -> Self {
        Self { inner, recorder }
    }
}

impl<T> Tap<T> {
    /// Fails once the header read timeout expired; otherwise remembers who to wake if it does.
    fn pending<R>(&self, res: Poll<io::Result<R>>, cx: &Context<'_>) -> Poll<io::Result<R>> {
        if res.is_pending() {
            self.recorder.deadline.park(cx.waker());
        }
        res
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tap<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.recorder.deadline.check()?;
        let before = buf.filled().len();
        let res = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let (Poll::Ready(Ok(())), Some(new)) = (&res, buf.filled().get(before..)) {
            this.recorder.feed(new);
        }
        this.pending(res, cx)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tap<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A client that stops reading its responses is timed out the same way.
        let this = self.get_mut();
        this.recorder.deadline.check()?;
        let res = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.pending(res, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.recorder.deadline.check()?;
        let res = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.pending(res, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.recorder.deadline.check()?;
        let res = Pin::new(&mut this.inner).poll_flush(cx);
        this.pending(res, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> (Recorder, HeadQueue) {
        let q: HeadQueue = Rc::default();
        (Recorder::new(q.clone(), 1024, Rc::default()), q)
    }

    fn heads(q: &HeadQueue) -> Vec<String> {
        q.borrow()
            .iter()
            .map(|h| String::from_utf8_lossy(&h.raw).into_owned())
            .collect()
    }

    const STREAM: &[u8] = b"GET /a HTTP/1.1\r\nX-One: 1\r\n\r\n\
POST /b HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n\
GET /d HTTP/1.1\r\nhOsT: x\r\n\r\n";

    #[test]
    fn pipelined_heads_are_recorded_in_order_with_bodies_skipped() {
        let (mut r, q) = recorder();
        r.feed(STREAM);
        let got = heads(&q);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].starts_with("GET /a "));
        assert!(got[1].starts_with("POST /b "));
        assert!(got[2].starts_with("PUT /c "));
        assert_eq!(got[3], "GET /d HTTP/1.1\r\nhOsT: x\r\n\r\n");
        assert!(!r.is_lost());
    }

    #[test]
    fn declared_bodies_and_the_first_accept_header_are_recorded() {
        let (mut r, q) = recorder();
        r.feed(
            b"GET / HTTP/1.1\r\nHost: h\r\naCCept: a/b\r\nAccept: c/d\r\n\r\n\
POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n\
POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        );
        let q = q.borrow();
        let got: Vec<(bool, Option<u32>)> = q.iter().map(|h| (h.declares_body, h.accept)).collect();
        assert_eq!(got, vec![(false, Some(1)), (true, None), (true, None)]);
    }

    #[test]
    fn recorded_offsets_point_at_the_parts_of_the_head() {
        let (mut r, q) = recorder();
        r.feed(b"\r\nGET /x?y HTTP/1.1\r\nHost: h\r\nx-A:  v \r\n\r\n");
        let q = q.borrow();
        let h = q.iter().next().unwrap();
        assert_eq!(h.slice(h.method), b"GET");
        assert_eq!(h.slice(h.target), b"/x?y");
        assert_eq!(h.slice(h.line), b"GET /x?y HTTP/1.1");
        let fields: Vec<(&[u8], &[u8])> = h
            .fields
            .iter()
            .map(|&[ns, ne, vs, ve]| (h.slice([ns, ne]), h.slice([vs, ve])))
            .collect();
        assert_eq!(
            fields,
            vec![(&b"Host"[..], &b"h"[..]), (&b"x-A"[..], &b"v"[..])]
        );
    }

    #[test]
    fn byte_at_a_time_delivery_records_the_same_heads() {
        let (mut whole, q_whole) = recorder();
        whole.feed(STREAM);
        let (mut trickle, q_trickle) = recorder();
        for b in STREAM {
            trickle.feed(std::slice::from_ref(b));
        }
        assert_eq!(heads(&q_whole), heads(&q_trickle));
        assert!(!trickle.is_lost());
    }

    #[test]
    fn oversized_head_stops_recording() {
        let (mut r, q) = recorder();
        let mut big = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 2000));
        r.feed(&big);
        assert!(r.is_lost());
        assert_eq!(q.borrow().len(), 0);
    }

    #[test]
    fn conflicting_content_lengths_stop_recording() {
        let (mut r, q) = recorder();
        r.feed(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
        assert!(r.is_lost());
        assert_eq!(q.borrow().len(), 0);
    }

    #[test]
    fn leading_blank_lines_before_a_request_are_tolerated() {
        let (mut r, q) = recorder();
        r.feed(b"\r\n\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n");
        assert_eq!(heads(&q).len(), 1);
        assert!(!r.is_lost());
    }

    #[test]
    fn head_wait_expires_only_while_waiting_and_restarts_per_request() {
        let clock: Rc<Clock> = Rc::default();
        let mut r = Recorder::new(Rc::default(), 1024, clock.clone());
        let d = r.deadline.clone();
        clock.advance_and_sweep(2);
        r.feed(b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab");
        // Body in progress: not waiting for a head, so no expiry however long it takes.
        for _ in 0..5 {
            clock.advance_and_sweep(2);
        }
        assert!(d.check().is_ok());
        r.feed(b"c");
        clock.advance_and_sweep(2);
        clock.advance_and_sweep(2);
        assert!(d.check().is_ok(), "two ticks is not more than the limit");
        r.feed(b"GET / HTTP/1.1\r\nX-Slow: ");
        clock.advance_and_sweep(2);
        assert!(
            d.check().is_err(),
            "a partial head does not restart the wait: since {} now {}",
            d.since.get(),
            clock.tick.get()
        );
    }

    #[test]
    fn bad_chunk_size_stops_recording() {
        let (mut r, _q) = recorder();
        r.feed(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(r.is_lost());
    }
}
