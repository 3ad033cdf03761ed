//! The connection edge in front of the router: the accept loop, the TLS
//! handshake and HTTP/1.1 or HTTP/2 on each connection, with the limits that
//! keep slow or idle clients from holding the server's file descriptors.
//!
//! - **Caps at accept**, before the handshake: at most `max_connections` in
//!   all and `max_connections_per_address` per client address (an IPv6 /64
//!   counts as one address). When a cap is reached, the connection that has
//!   been idle longest (no request in flight: still in its handshake, waiting
//!   for a request head, or kept alive between requests) is closed to make
//!   room; only when every connection has a request in flight is the new one
//!   closed instead. Slow clients are therefore what gives way, and a new
//!   client that completes its request in time is always let in.
//! - **Handshake**: a TLS handshake not done within `handshake` is dropped.
//! - **Request head**: a connection's first request head must arrive within
//!   `header_read` of the handshake; a later one within `header_read` of its
//!   first byte.
//! - **Idle**: a connection with no request in flight and nothing received for
//!   `idle` is closed.
//! - **Body progress**: a request body that sends nothing for `body_progress`
//!   while the handler waits for it fails, which aborts the request.
//!
//! These are our own watchdog rather than hyper's `header_read_timeout`: that
//! timer starts as soon as a connection waits for a head, so it would also be
//! the keep-alive timeout, and it does not exist for HTTP/2.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long and how many: the limits of the connection edge.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Longest TLS handshake.
    pub handshake: Duration,
    /// Longest wait for a complete request head.
    pub header_read: Duration,
    /// Longest a connection stays open with no request in flight.
    pub idle: Duration,
    /// Longest a request body may send nothing while it is read.
    pub body_progress: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most connections open at once from one client address.
    pub max_connections_per_address: usize,
    /// The trusted reverse proxies: the per-address cap does not apply to them,
    /// as every client of a deployment behind one comes through them (the total
    /// cap still applies), and `client_address_header` is believed only on
    /// connections from them.
    pub trusted_proxies: Vec<model::Cidr>,
    /// The request header that carries the client's address when Custody runs
    /// behind a reverse proxy (e.g. `x-forwarded-for`); off when `None`.
    pub client_address_header: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body_progress: Duration::from_secs(30),
            max_connections: 10_000,
            max_connections_per_address: 256,
            trusted_proxies: vec![],
            client_address_header: None,
        }
    }
}

/// How long open connections may finish after shutdown begins.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` with `limits` until `shutdown` resolves, then
/// lets open connections finish for up to ten seconds.
pub async fn serve(
    router: Router,
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    warn_on_descriptor_limit(limits.max_connections);
    let edge = Arc::new(Edge {
        registry: Registry::new(&limits),
        acceptor: tokio_rustls::TlsAcceptor::from(tls),
        http: http_builder(),
        router,
        limits,
    });
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        // Refused: dropping the stream closes it before any handshake.
        let Some(admitted) = edge.registry.admit(remote.ip()) else {
            tracing::debug!(%remote, "connection refused: connection caps reached");
            continue;
        };
        let edge = edge.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            let id = admitted.id;
            edge.connection(stream, remote, admitted, stopping).await;
            edge.registry.remove(id);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let _ = tokio::time::timeout(DRAIN, edge.registry.drained()).await;
    Ok(())
}

/// An accept error: the backlog's connection is gone (try the next), or the
/// process is out of descriptors (wait a moment, connections will close).
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    tracing::warn!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn http_builder() -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut http = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // The watchdog times request heads (module documentation).
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    http.http2().timer(TokioTimer::new());
    http
}

/// Everything the connections share.
struct Edge {
    registry: Registry,
    acceptor: tokio_rustls::TlsAcceptor,
    http: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    router: Router,
    limits: Limits,
}

impl Edge {
    /// One connection, from the handshake to its close.
    async fn connection(
        self: &Arc<Self>,
        stream: tokio::net::TcpStream,
        remote: SocketAddr,
        admitted: Admitted,
        mut stopping: watch::Receiver<bool>,
    ) {
        let handshake = tokio::time::timeout(self.limits.handshake, self.acceptor.accept(stream));
        let tls = tokio::select! {
            done = handshake => match done {
                Ok(Ok(tls)) => tls,
                _ => return,
            },
            () = admitted.evicted.notified() => return,
            _ = stopping.changed() => return,
        };
        let state = Arc::new(Watch::new(admitted.id));
        let io = TokioIo::new(Watched {
            inner: tls,
            state: state.clone(),
        });
        let service = self.service(remote, state.clone());
        let conn = self.http.serve_connection(io, service);
        tokio::pin!(conn);
        let mut draining = false;
        loop {
            let deadline = state.deadline(&self.limits);
            let expiry = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = conn.as_mut() => return,
                () = expiry => {
                    if state.deadline(&self.limits).is_some_and(|at| at <= Instant::now()) {
                        return;
                    }
                }
                () = state.changed.notified() => {}
                () = admitted.evicted.notified() => return,
                _ = stopping.changed(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }

    /// The router as a hyper service for one connection.
    fn service(self: &Arc<Self>, remote: SocketAddr, state: Arc<Watch>) -> Service {
        Service {
            edge: self.clone(),
            remote,
            state,
        }
    }
}

/// The router for one connection: each request carries the peer address, its
/// body is timed, and it counts as in flight until its response body is done.
#[derive(Clone)]
struct Service {
    edge: Arc<Edge>,
    remote: SocketAddr,
    state: Arc<Watch>,
}

type Responding =
    Pin<Box<dyn std::future::Future<Output = Result<axum::response::Response, Infallible>> + Send>>;

impl hyper::service::Service<hyper::Request<Incoming>> for Service {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Responding;

    fn call(&self, req: hyper::Request<Incoming>) -> Responding {
        let ticket = Ticket::issue(&self.edge, &self.state);
        let router = self.edge.router.clone();
        let progress = self.edge.limits.body_progress;
        let remote = self.remote;
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            parts.extensions.insert(ConnectInfo(remote));
            let body = Body::new(Progress::new(body, progress));
            let req = axum::http::Request::from_parts(parts, body);
            let response = router.oneshot(req).await?;
            Ok(response.map(|inner| Body::new(Ticketed { inner, ticket })))
        })
    }
}

/// A connection's clock: whether a request is in flight, and since when it
/// waits for one.
struct Watch {
    id: u64,
    times: Mutex<Times>,
    /// Signalled when the deadline may have moved earlier.
    changed: Notify,
}

struct Times {
    /// Requests whose response body is not done.
    in_flight: usize,
    /// When the connection last had no request in flight (or its handshake ended).
    since: Instant,
    /// When the first byte of the next request head arrived.
    head: Option<Instant>,
    /// Whether a request was ever received.
    served: bool,
}

impl Watch {
    fn new(id: u64) -> Self {
        Watch {
            id,
            times: Mutex::new(Times {
                in_flight: 0,
                since: Instant::now(),
                head: None,
                served: false,
            }),
            changed: Notify::new(),
        }
    }

    fn times(&self) -> MutexGuard<'_, Times> {
        self.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the connection is to be closed, if nothing happens before.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        let t = self.times();
        if t.in_flight > 0 {
            None
        } else if !t.served {
            Some(t.since + limits.header_read)
        } else if let Some(head) = t.head {
            Some(head + limits.header_read)
        } else {
            Some(t.since + limits.idle)
        }
    }

    /// Bytes arrived: between requests, they start the next request head.
    fn received(&self) {
        let mut t = self.times();
        if t.in_flight == 0 && t.served && t.head.is_none() {
            t.head = Some(Instant::now());
            drop(t);
            self.changed.notify_one();
        }
    }
}

/// A request in flight on a connection, until dropped with its response body.
struct Ticket {
    edge: Arc<Edge>,
    state: Arc<Watch>,
}

impl Ticket {
    fn issue(edge: &Arc<Edge>, state: &Arc<Watch>) -> Self {
        let mut t = state.times();
        t.in_flight += 1;
        t.served = true;
        t.head = None;
        drop(t);
        edge.registry.busy(state.id);
        Ticket {
            edge: edge.clone(),
            state: state.clone(),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut t = self.state.times();
        t.in_flight = t.in_flight.saturating_sub(1);
        if t.in_flight == 0 {
            t.since = Instant::now();
            drop(t);
            self.edge.registry.idle(self.state.id);
            self.state.changed.notify_one();
        }
    }
}

/// A response body that holds its request's [`Ticket`].
struct Ticketed {
    inner: Body,
    #[expect(dead_code, reason = "held for its drop")]
    ticket: Ticket,
}

impl HttpBody for Ticketed {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A request body that fails when it sends nothing for a while.
struct Progress {
    inner: Incoming,
    timeout: Duration,
    stall: Option<Pin<Box<Sleep>>>,
}

/// The error of a request body that stopped sending.
#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {0:?}")]
struct Stalled(Duration);

impl Progress {
    fn new(inner: Incoming, timeout: Duration) -> Self {
        Progress {
            inner,
            timeout,
            stall: None,
        }
    }
}

impl HttpBody for Progress {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.stall = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let stall = this
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Stalled(timeout).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The TLS stream of a connection, telling its [`Watch`] when bytes arrive.
struct Watched<S> {
    inner: S,
    state: Arc<Watch>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.state.received();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// A connection let in: its id, and the signal that closes it to make room.
struct Admitted {
    id: u64,
    evicted: Arc<Notify>,
}

/// The open connections, by client address, with those that have no request
/// in flight ordered by how long they have had none.
struct Registry {
    max_total: usize,
    max_per_address: usize,
    uncapped: Vec<model::Cidr>,
    table: Mutex<Table>,
    /// Signalled when the last connection closes.
    empty: Notify,
}

#[derive(Default)]
struct Table {
    /// Connection ids and idle ranks come from this one counter.
    next: u64,
    open: HashMap<u64, Open>,
    /// Idle rank (lower: idle longer) → connection id.
    idle: BTreeMap<u64, u64>,
    addresses: HashMap<IpAddr, Address>,
}

struct Open {
    address: IpAddr,
    /// The idle rank while no request is in flight.
    idle_rank: Option<u64>,
    evicted: Arc<Notify>,
}

#[derive(Default)]
struct Address {
    open: usize,
    idle: BTreeMap<u64, u64>,
}

impl Registry {
    fn new(limits: &Limits) -> Self {
        Registry {
            max_total: limits.max_connections.max(1),
            max_per_address: limits.max_connections_per_address.max(1),
            uncapped: limits.trusted_proxies.clone(),
            table: Mutex::new(Table::default()),
            empty: Notify::new(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets a connection from `ip` in, closing the longest idle one of the
    /// address, then of all, when a cap is reached; `None` refuses it.
    fn admit(&self, ip: IpAddr) -> Option<Admitted> {
        let address = client_address(ip);
        let mut t = self.table();
        let from_address = t.addresses.get(&address);
        let capped = !self.uncapped.iter().any(|c| c.contains(ip));
        if capped && from_address.map_or(0, |a| a.open) >= self.max_per_address {
            let victim = from_address.and_then(|a| a.idle.values().next().copied())?;
            t.evict(victim);
        }
        if t.open.len() >= self.max_total {
            let victim = t.idle.values().next().copied()?;
            t.evict(victim);
        }
        let id = t.take_next();
        let rank = t.take_next();
        let evicted = Arc::new(Notify::new());
        t.open.insert(
            id,
            Open {
                address,
                idle_rank: Some(rank),
                evicted: evicted.clone(),
            },
        );
        t.idle.insert(rank, id);
        let a = t.addresses.entry(address).or_default();
        a.open += 1;
        a.idle.insert(rank, id);
        Some(Admitted { id, evicted })
    }

    /// A request started on connection `id`: it may not be evicted.
    fn busy(&self, id: u64) {
        let mut t = self.table();
        let Table {
            open,
            idle,
            addresses,
            ..
        } = &mut *t;
        let Some(o) = open.get_mut(&id) else { return };
        if let Some(rank) = o.idle_rank.take() {
            idle.remove(&rank);
            if let Some(a) = addresses.get_mut(&o.address) {
                a.idle.remove(&rank);
            }
        }
    }

    /// Connection `id` has no request in flight any more.
    fn idle(&self, id: u64) {
        let mut t = self.table();
        let rank = t.take_next();
        let Table {
            open,
            idle,
            addresses,
            ..
        } = &mut *t;
        let Some(o) = open.get_mut(&id) else { return };
        if o.idle_rank.is_some() {
            return;
        }
        o.idle_rank = Some(rank);
        idle.insert(rank, id);
        if let Some(a) = addresses.get_mut(&o.address) {
            a.idle.insert(rank, id);
        }
    }

    /// Connection `id` closed.
    fn remove(&self, id: u64) {
        let mut t = self.table();
        t.forget(id);
        if t.open.is_empty() {
            self.empty.notify_waiters();
        }
    }

    /// Resolves when no connection is open.
    async fn drained(&self) {
        loop {
            let notified = self.empty.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.table().open.is_empty() {
                return;
            }
            notified.await;
        }
    }
}

impl Table {
    fn take_next(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Forgets connection `id` and tells it to close.
    fn evict(&mut self, id: u64) {
        if let Some(o) = self.forget(id) {
            o.evicted.notify_one();
        }
    }

    fn forget(&mut self, id: u64) -> Option<Open> {
        let o = self.open.remove(&id)?;
        if let Some(rank) = o.idle_rank {
            self.idle.remove(&rank);
        }
        if let Some(a) = self.addresses.get_mut(&o.address) {
            a.open = a.open.saturating_sub(1);
            if let Some(rank) = o.idle_rank {
                a.idle.remove(&rank);
            }
            if a.open == 0 {
                self.addresses.remove(&o.address);
            }
        }
        Some(o)
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into
/// IPv6), IPv6 by its /64, the smallest block a site is given.
fn client_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Warns when the process may open fewer files than `max_connections` needs
/// (Linux: `/proc/self/limits`); accepts then fail before the cap is reached.
fn warn_on_descriptor_limit(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    // Room for the database, blob files, logs and the listener.
    if let Some(soft) = soft
        && soft < max_connections + 256
    {
        tracing::warn!(
            open_files = soft,
            max_connections,
            "the open-file limit is below `max_connections` + 256: raise it (`ulimit -n`, LimitNOFILE=) or lower `max_connections`"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `steps` on a registry with caps 3 in all and 2 per address (none
    /// for the trusted proxies of 10.9.0.0/16); each
    /// step is `+ADDR` (connect: the id admitted, or `refused`), `busy N`,
    /// `idle N` or `close N`, and `want` lists what each step gave.
    fn check(steps: &[&str], want: &[&str]) {
        let registry = Registry::new(&Limits {
            max_connections: 3,
            max_connections_per_address: 2,
            trusted_proxies: vec!["10.9.0.0/16".parse().unwrap()],
            ..Limits::default()
        });
        let mut evicted: Vec<(u64, Arc<Notify>)> = vec![];
        let mut got = vec![];
        for step in steps {
            let (verb, arg) = step.split_once(' ').unwrap_or((step, ""));
            let n: u64 = arg.parse().unwrap_or(0);
            match verb {
                "+" => match registry.admit(arg.parse().unwrap()) {
                    Some(a) => {
                        got.push(format!("#{}", a.id));
                        evicted.push((a.id, a.evicted));
                    }
                    None => got.push("refused".into()),
                },
                "busy" => {
                    registry.busy(n);
                    got.push(String::new());
                }
                "idle" => {
                    registry.idle(n);
                    got.push(String::new());
                }
                "close" => {
                    registry.remove(n);
                    got.push(String::new());
                }
                other => panic!("bad step {other}"),
            }
        }
        // Which connections were told to close: a stored permit each.
        let closed: Vec<String> = evicted
            .iter()
            .filter(|(_, n)| {
                let notified = n.notified();
                tokio::pin!(notified);
                notified
                    .as_mut()
                    .poll(&mut Context::from_waker(std::task::Waker::noop()))
                    .is_ready()
            })
            .map(|(id, _)| format!("closed #{id}"))
            .collect();
        got.retain(|g| !g.is_empty());
        got.extend(closed);
        assert_eq!(got, want, "{steps:?}");
    }

    #[test]
    fn caps_close_the_longest_idle_connection_first() {
        let table: [(&[&str], &[&str]); 6] = [
            // Under the caps: everyone in (ids and ranks share one counter).
            (&["+ 10.0.0.1", "+ 10.0.0.2"], &["#1", "#3"]),
            // The third from one address closes its longest idle one.
            (
                &["+ 10.0.0.1", "+ 10.0.0.1", "+ 10.0.0.1"],
                &["#1", "#3", "#5", "closed #1"],
            ),
            // Busy connections are never closed: the new one is refused.
            (
                &["+ 10.0.0.1", "+ 10.0.0.1", "busy 1", "busy 3", "+ 10.0.0.1"],
                &["#1", "#3", "refused"],
            ),
            // The total cap closes the longest idle of anyone; a connection
            // that went idle again is idle since then.
            (
                &[
                    "+ 10.0.0.1",
                    "+ 10.0.0.2",
                    "+ 10.0.0.3",
                    "busy 1",
                    "idle 1",
                    "+ 10.0.0.4",
                ],
                &["#1", "#3", "#5", "#8", "closed #3"],
            ),
            // A trusted proxy carries every client: only the total cap holds it.
            (
                &[
                    "+ 10.9.0.1",
                    "+ 10.9.0.1",
                    "busy 1",
                    "busy 3",
                    "+ 10.9.0.1",
                    "busy 5",
                    "+ 10.9.0.1",
                ],
                &["#1", "#3", "#5", "refused"],
            ),
            // A closed connection frees its place; an IPv6 /64 is one address.
            (
                &["+ 2001:db8::1", "+ 2001:db8::2", "close 1", "+ 2001:db8::3"],
                &["#1", "#3", "#5"],
            ),
        ];
        for (steps, want) in table {
            check(steps, want);
        }
    }
}
