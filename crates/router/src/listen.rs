//! Listening sockets, reconciled against each snapshot, and the per
//! connection choice between HTTP and plain TCP proxying.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use router_core::{Action, ListenerId, RequestInfo, ServicePortInfo, Snapshot};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::body::InFlight;
use crate::http::{handle, ConnCtx};
use crate::pool::connect_tcp;
use crate::state::Shared;

/// What a bound address serves.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Want {
    listener: ListenerId,
    /// The port is declared HTTP: skip sniffing.
    http: bool,
}

struct Bound {
    want: Want,
    task: JoinHandle<()>,
}

/// The set of bound listeners. Dropping it closes them all.
#[derive(Default)]
pub(crate) struct Listeners {
    bound: BTreeMap<SocketAddr, Bound>,
    /// Addresses that failed to bind in the last reconcile.
    pub failed: usize,
}

/// How a connection's protocol was decided.
enum Protocol {
    Http1,
    H2c,
    Tcp,
}

// === impl Listeners ===

impl Listeners {
    /// Binds what the snapshot needs and closes what it no longer has.
    pub fn reconcile(&mut self, shared: &Arc<Shared>, snapshot: &Snapshot) {
        let wanted = wanted(shared, snapshot);
        self.bound.retain(|addr, b| {
            let keep = wanted.get(addr) == Some(&b.want);
            if !keep {
                b.task.abort();
            }
            keep
        });
        self.failed = 0;
        for (addr, want) in wanted {
            if self.bound.contains_key(&addr) {
                continue;
            }
            match bind(addr) {
                Ok(listener) => {
                    tracing::debug!(%addr, listener = %want.listener, "listening");
                    let task = tokio::spawn(accept_loop(shared.clone(), listener, want.clone()));
                    self.bound.insert(addr, Bound { want, task });
                }
                Err(e) => {
                    self.failed += 1;
                    tracing::warn!(%addr, listener = %want.listener, error = %e, "cannot listen; will retry");
                }
            }
        }
    }
}

impl Drop for Listeners {
    fn drop(&mut self) {
        for b in self.bound.values() {
            b.task.abort();
        }
    }
}

fn is_http_port(port: &ServicePortInfo) -> bool {
    let app = port.app_protocol.as_deref().unwrap_or("");
    matches!(
        app,
        "http" | "h2c" | "kubernetes.io/h2c" | "kubernetes.io/http"
    ) || port.name == "http"
        || port.name.starts_with("http-")
}

fn wanted(shared: &Shared, snapshot: &Snapshot) -> BTreeMap<SocketAddr, Want> {
    let mut out: BTreeMap<SocketAddr, Want> = BTreeMap::new();
    let mut add = |addr: SocketAddr, want: Want| {
        if let Some(prev) = out.get(&addr) {
            if prev != &want {
                tracing::warn!(%addr, first = %prev.listener, second = %want.listener, "address claimed twice; keeping the first");
            }
            return;
        }
        out.insert(addr, want);
    };
    let listeners: std::collections::BTreeSet<&ListenerId> = snapshot.listeners().collect();
    for svc in snapshot.services() {
        for port in &svc.ports {
            let id = ListenerId::Service {
                service: svc.service.clone(),
                port: port.port,
            };
            if !listeners.contains(&id) {
                continue;
            }
            let want = Want {
                listener: id,
                http: is_http_port(port),
            };
            for ip in svc
                .cluster_ips
                .iter()
                .chain(&svc.external_ips)
                .chain(&svc.load_balancer_ips)
            {
                add(SocketAddr::new(*ip, port.port), want.clone());
            }
            if let Some(np) = port.node_port {
                add(
                    SocketAddr::new(shared.cfg.node_port_address, np),
                    want.clone(),
                );
            }
        }
    }
    if let Some(gw_ip) = shared.cfg.gateway_address {
        for id in listeners {
            if matches!(id, ListenerId::Gateway { .. }) {
                add(
                    SocketAddr::new(gw_ip, id.port()),
                    Want {
                        listener: id.clone(),
                        http: true,
                    },
                );
            }
        }
    }
    out
}

/// A listening socket with SO_REUSEADDR, so a listener closed and reopened
/// (or restarted router) binds despite connections in TIME_WAIT.
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let domain = match addr.ip() {
        IpAddr::V4(_) => Domain::IPV4,
        IpAddr::V6(_) => Domain::IPV6,
    };
    let socket = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, want: Want) {
    let want = Arc::new(want);
    loop {
        match listener.accept().await {
            Ok((stream, client)) => {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(
                    shared.clone(),
                    stream,
                    client,
                    want.clone(),
                ));
            }
            Err(_) => {
                // Out of file descriptors or an aborted handshake: back off
                // briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Counts open connections for the shutdown wait.
struct ConnCount(Arc<Shared>);

impl Drop for ConnCount {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    client: SocketAddr,
    want: Arc<Want>,
) {
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let _count = ConnCount(shared.clone());
    let protocol = sniff(&stream, want.http, shared.cfg.sniff_timeout).await;
    let ctx = Arc::new(ConnCtx {
        shared: shared.clone(),
        listener: want.listener.clone(),
        client,
    });
    let mut shutdown = shared.shutdown.clone();
    if *shutdown.borrow() {
        return;
    }
    match protocol {
        Protocol::Http1 => {
            let svc = service_fn(move |req| handle(ctx.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }
        Protocol::H2c => {
            let svc = service_fn(move |req| handle(ctx.clone(), req));
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }
        Protocol::Tcp => {
            tokio::select! {
                _ = proxy_tcp(&ctx, stream) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// HTTP when the port says so or the client's first bytes are an HTTP/1
/// method token and a space (or the HTTP/2 preface); otherwise, including
/// when the client says nothing within the sniff timeout (server-first
/// protocols), plain TCP.
async fn sniff(stream: &TcpStream, declared_http: bool, timeout: Duration) -> Protocol {
    let mut buf = [0u8; 16];
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let peeked = match tokio::time::timeout_at(deadline, stream.peek(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => {
                return if declared_http {
                    Protocol::Http1
                } else {
                    Protocol::Tcp
                }
            }
        };
        let seen = &buf[..peeked];
        if peeked == 0 {
            // Client closed without sending anything.
            return if declared_http {
                Protocol::Http1
            } else {
                Protocol::Tcp
            };
        }
        if seen.starts_with(b"PRI ") {
            return Protocol::H2c;
        }
        match classify(seen) {
            Some(true) => return Protocol::Http1,
            Some(false) => {
                return if declared_http {
                    Protocol::Http1
                } else {
                    Protocol::Tcp
                }
            }
            None => {
                // A method token so far, no space yet: wait for more bytes.
                if tokio::time::Instant::now() >= deadline {
                    return if declared_http {
                        Protocol::Http1
                    } else {
                        Protocol::Tcp
                    };
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

/// `Some(true)`: an HTTP/1 request line start; `Some(false)`: not HTTP;
/// `None`: undecided yet.
fn classify(seen: &[u8]) -> Option<bool> {
    for (i, &b) in seen.iter().enumerate() {
        if b == b' ' {
            return Some(i > 0);
        }
        if !b.is_ascii_uppercase() || i >= 10 {
            return Some(false);
        }
    }
    if seen.len() >= 11 {
        Some(false)
    } else {
        None
    }
}

/// Plain TCP: one endpoint per connection, chosen like a request without
/// headers; one retry on another endpoint when the connect fails.
async fn proxy_tcp(ctx: &ConnCtx, mut client: TcpStream) {
    let shared = &ctx.shared;
    let state = shared.state();
    let mut info = RequestInfo::new(ctx.listener.clone(), "", "/");
    info.client_ip = Some(ctx.client.ip());
    info.random = rand::random();
    let Ok(decision) = router_core::route(&state.snapshot, &info) else {
        return;
    };
    let Action::Forward(fw) = decision.action else {
        return;
    };
    let mut failed: Option<SocketAddr> = None;
    for _ in 0..2 {
        let Ok(endpoint) = fw.pick(&*state, failed.as_slice()) else {
            return;
        };
        let addr = endpoint.socket_addr();
        let ep = state.endpoint(addr, &shared.pool);
        let guard = InFlight::start(ep, state.stats(&fw.backend.service, addr));
        match connect_tcp(addr, shared.cfg.connect_timeout).await {
            Ok(mut backend) => {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut backend).await;
                drop(guard);
                return;
            }
            Err(_) => {
                if let Some(s) = guard.stats() {
                    s.connection_error();
                }
                failed = Some(addr);
            }
        }
    }
}
