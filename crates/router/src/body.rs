//! Request and response bodies: concrete enums instead of boxed bodies, so
//! proxying allocates nothing per request for them.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

use crate::metrics::Stats;
use crate::pool::{EndpointState, Sender};

/// A request body sent to a backend.
pub(crate) enum ReqBody {
    Incoming(Incoming),
    /// A retried request, which is only retried when its body was empty.
    Empty,
}

/// A response body sent to a client.
pub(crate) enum RespBody {
    /// A response the router makes itself.
    Full(Option<Bytes>),
    /// A backend's response; the guard returns the connection to the pool
    /// when the body ended cleanly.
    Upstream(Incoming, Option<InFlight>),
}

/// One request in flight to an endpoint: counts it while alive and, when
/// completed, returns the connection to the pool.
pub(crate) struct InFlight {
    ep: Arc<EndpointState>,
    stats: Option<Arc<Stats>>,
    sender: Option<Sender>,
}

// === impl ReqBody ===

impl Body for ReqBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            ReqBody::Incoming(b) => Pin::new(b).poll_frame(cx),
            ReqBody::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReqBody::Incoming(b) => b.is_end_stream(),
            ReqBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReqBody::Incoming(b) => b.size_hint(),
            ReqBody::Empty => SizeHint::with_exact(0),
        }
    }
}

// === impl RespBody ===

impl RespBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        RespBody::Full(Some(bytes.into()))
    }

    pub fn empty() -> Self {
        RespBody::Full(None)
    }
}

impl Body for RespBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            RespBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            RespBody::Upstream(body, guard) => {
                let polled = Pin::new(&mut *body).poll_frame(cx);
                match &polled {
                    Poll::Ready(None) => {
                        if let Some(mut g) = guard.take() {
                            g.complete();
                        }
                    }
                    Poll::Ready(Some(Ok(_))) if body.is_end_stream() => {
                        if let Some(mut g) = guard.take() {
                            g.complete();
                        }
                    }
                    Poll::Ready(Some(Err(_))) => {
                        // The connection is broken: drop it with the guard.
                        guard.take();
                    }
                    _ => {}
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RespBody::Full(b) => b.is_none(),
            RespBody::Upstream(body, _) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            RespBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            RespBody::Full(None) => SizeHint::with_exact(0),
            RespBody::Upstream(body, _) => body.size_hint(),
        }
    }
}

// === impl InFlight ===

impl InFlight {
    pub fn start(ep: Arc<EndpointState>, stats: Option<Arc<Stats>>) -> Self {
        ep.in_flight.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = &stats {
            s.start();
        }
        InFlight {
            ep,
            stats,
            sender: None,
        }
    }

    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_deref()
    }

    pub fn set_sender(&mut self, sender: Sender) {
        self.sender = Some(sender);
    }

    /// The exchange ended cleanly: the connection may serve another request.
    pub fn complete(&mut self) {
        if let Some(sender) = self.sender.take() {
            self.ep.checkin(sender);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.ep.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(s) = &self.stats {
            s.finish();
        }
    }
}
