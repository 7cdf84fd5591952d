//! Backend connections: a small pool of HTTP/1 `SendRequest`s per endpoint.
//!
//! Our own pool (rather than hyper-util's client) because the router must
//! drop an endpoint's idle connections the moment the endpoint leaves the
//! ready set, and must count requests in flight per endpoint for
//! least-request balancing.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::body::ReqBody;

pub(crate) type Sender = SendRequest<ReqBody>;

/// Pool limits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolConfig {
    pub max_idle: usize,
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
}

pub(crate) struct Pool {
    cfg: PoolConfig,
    endpoints: RwLock<HashMap<SocketAddr, Arc<EndpointState>>>,
}

/// One endpoint address: its idle connections and its load.
pub(crate) struct EndpointState {
    pub addr: SocketAddr,
    /// Requests (and TCP connections) in flight, for least-request balancing.
    pub in_flight: AtomicU64,
    /// Not ready any more: connections are closed as soon as they go idle.
    draining: AtomicBool,
    idle: Mutex<Vec<Idle>>,
    cfg: PoolConfig,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    #[error("connecting to {0}: {1}")]
    Io(SocketAddr, #[source] std::io::Error),
    #[error("connecting to {0}: timed out")]
    Timeout(SocketAddr),
    #[error("HTTP handshake with {0}: {1}")]
    Handshake(SocketAddr, #[source] hyper::Error),
}

// === impl Pool ===

impl Pool {
    pub fn new(cfg: PoolConfig) -> Self {
        Pool {
            cfg,
            endpoints: RwLock::new(HashMap::new()),
        }
    }

    /// The state of `addr`, created on first use.
    pub fn endpoint(&self, addr: SocketAddr) -> Arc<EndpointState> {
        if let Some(ep) = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&addr)
        {
            return ep.clone();
        }
        let mut map = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        map.entry(addr)
            .or_insert_with(|| {
                Arc::new(EndpointState {
                    addr,
                    in_flight: AtomicU64::new(0),
                    draining: AtomicBool::new(false),
                    idle: Mutex::new(Vec::new()),
                    cfg: self.cfg,
                })
            })
            .clone()
    }

    /// Applies a new snapshot's endpoint set: endpoints not in `ready` drain
    /// (their idle connections close now, busy ones after their request);
    /// endpoints unknown to the snapshot and idle are forgotten.
    pub fn sync(&self, ready: &HashSet<SocketAddr>, known: &HashSet<SocketAddr>) {
        let mut map = self
            .endpoints
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        for (addr, ep) in map.iter() {
            let is_ready = ready.contains(addr);
            ep.draining.store(!is_ready, Ordering::Relaxed);
            if !is_ready {
                ep.close_idle();
            }
        }
        map.retain(|addr, ep| known.contains(addr) || ep.in_flight.load(Ordering::Relaxed) > 0);
    }

    /// Closes connections idle for longer than the idle timeout.
    pub fn sweep(&self) {
        let eps: Vec<Arc<EndpointState>> = self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        let now = Instant::now();
        for ep in eps {
            let mut idle = ep.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.retain(|i| {
                now.duration_since(i.since) < self.cfg.idle_timeout && !i.sender.is_closed()
            });
        }
    }

    /// Drops every idle connection (shutdown).
    pub fn clear(&self) {
        for ep in self
            .endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
        {
            ep.close_idle();
        }
    }

    /// Number of idle pooled connections to `addr` (tests, diagnostics).
    pub fn idle_count(&self, addr: SocketAddr) -> usize {
        self.endpoints
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&addr)
            .map_or(0, |ep| {
                ep.idle.lock().unwrap_or_else(PoisonError::into_inner).len()
            })
    }
}

// === impl EndpointState ===

impl EndpointState {
    /// The most recently used idle connection that is still open.
    pub fn checkout(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        while let Some(i) = idle.pop() {
            if !i.sender.is_closed() && now.duration_since(i.since) < self.cfg.idle_timeout {
                return Some(i.sender);
            }
        }
        None
    }

    /// Returns a connection whose exchange completed. Dropping a sender
    /// makes hyper close the connection once it is idle.
    pub fn checkin(&self, sender: Sender) {
        if self.draining.load(Ordering::Relaxed) || sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.cfg.max_idle {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
    }

    fn close_idle(&self) {
        let dropped: Vec<Idle> =
            std::mem::take(&mut *self.idle.lock().unwrap_or_else(PoisonError::into_inner));
        drop(dropped);
    }

    /// A new HTTP/1 connection to this endpoint.
    pub async fn connect(&self) -> Result<Sender, ConnectError> {
        let addr = self.addr;
        let stream = connect_tcp(addr, self.cfg.connect_timeout).await?;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ConnectError::Handshake(addr, e))?;
        tokio::spawn(async move {
            // The connection ends when the backend closes it or every
            // sender is dropped; either way there is nothing to report.
            let _ = conn.await;
        });
        Ok(sender)
    }
}

pub(crate) async fn connect_tcp(
    addr: SocketAddr,
    timeout: Duration,
) -> Result<TcpStream, ConnectError> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| ConnectError::Timeout(addr))?
        .map_err(|e| ConnectError::Io(addr, e))?;
    // Small request/response exchanges: never wait for Nagle.
    let _ = stream.set_nodelay(true);
    Ok(stream)
}
