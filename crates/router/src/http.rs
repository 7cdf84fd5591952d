//! HTTP proxying: every request is routed on the live snapshot, so a
//! keep-alive client moves to new endpoints the moment the snapshot changes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::uri::{PathAndQuery, Uri};
use hyper::{Method, Request, Response, StatusCode, Version};
use router_core::{
    route, Action, Decision, Forward, HeaderEdits, HeaderOp, ListenerId, RequestInfo,
};
use tokio::time::Instant;

use crate::body::{InFlight, ReqBody, RespBody};
use crate::pool::Sender;
use crate::state::{Shared, State};

/// What every request on one client connection shares.
pub(crate) struct ConnCtx {
    pub shared: Arc<Shared>,
    pub listener: ListenerId,
    pub client: SocketAddr,
}

const HOP_BY_HOP: [HeaderName; 6] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Serves one request.
pub(crate) async fn handle(
    ctx: Arc<ConnCtx>,
    req: Request<Incoming>,
) -> Result<Response<RespBody>, Infallible> {
    let start = Instant::now();
    let state = ctx.shared.state();
    let info = request_info(&ctx, &state, &req);
    let decision = match route(&state.snapshot, &info) {
        Ok(d) => d,
        Err(e) => return Ok(local(e.status(), "no route\n")),
    };
    drop(info);
    let Decision {
        action,
        request_headers,
        response_headers,
        rewrite,
        ..
    } = decision;
    match action {
        Action::Forward(fw) => {
            let (parts, body) = req.into_parts();
            let mut parts = parts;
            prepare_request(&ctx, &mut parts, &request_headers, &rewrite);
            let mut resp = forward(&ctx, &state, &fw, parts, body, start).await;
            apply_edits(resp.headers_mut(), &response_headers);
            if let Some(cookie) = &fw.set_cookie {
                if let Ok(v) = HeaderValue::from_str(&cookie.header_value()) {
                    resp.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            Ok(resp)
        }
        Action::Redirect { status, location } => {
            let mut resp = local(status, "");
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            apply_edits(resp.headers_mut(), &response_headers);
            Ok(resp)
        }
        Action::Respond { status, body } => {
            let mut resp = local(status, body);
            apply_edits(resp.headers_mut(), &response_headers);
            Ok(resp)
        }
    }
}

/// The routing view of a request. Without any route object only the cookie
/// header can matter (sticky sessions), so only it is copied.
fn request_info(ctx: &ConnCtx, state: &State, req: &Request<Incoming>) -> RequestInfo {
    let uri = req.uri();
    let host = match req.headers().get(header::HOST) {
        Some(h) => String::from_utf8_lossy(h.as_bytes()).into_owned(),
        None => uri.authority().map(|a| a.to_string()).unwrap_or_default(),
    };
    let mut headers = Vec::new();
    if state.has_routes {
        headers.reserve(req.headers().len());
        for (name, value) in req.headers() {
            headers.push((
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    } else {
        for value in req.headers().get_all(header::COOKIE) {
            headers.push((
                "cookie".to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            ));
        }
    }
    RequestInfo {
        listener: ctx.listener.clone(),
        scheme: "http".to_string(),
        host,
        method: req.method().as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        headers,
        client_ip: Some(ctx.client.ip()),
        sticky_cookie: None,
        random: rand::random(),
    }
}

/// Header edits, URL rewrite, origin-form URI, hop-by-hop headers and
/// `x-forwarded-for`.
fn prepare_request(
    ctx: &ConnCtx,
    parts: &mut hyper::http::request::Parts,
    edits: &HeaderEdits,
    rewrite: &router_core::Rewrite,
) {
    strip_hop_by_hop(&mut parts.headers);
    if parts.version == Version::HTTP_2 || parts.uri.authority().is_some() {
        // HTTP/2 and absolute-form requests carry the host in the URI.
        if !parts.headers.contains_key(header::HOST) {
            if let Some(auth) = parts.uri.authority() {
                if let Ok(v) = HeaderValue::from_str(auth.as_str()) {
                    parts.headers.insert(header::HOST, v);
                }
            }
        }
        let pq = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::from(pq);
    }
    parts.version = Version::HTTP_11;
    apply_edits(&mut parts.headers, edits);
    if let Some(host) = &rewrite.host {
        if let Ok(v) = HeaderValue::from_str(host) {
            parts.headers.insert(header::HOST, v);
        }
    }
    if let Some(path) = &rewrite.path {
        let new = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        if let Ok(uri) = Uri::try_from(new) {
            parts.uri = uri;
        }
    }
    let ip = ctx.client.ip();
    let xff = match parts.headers.get(&X_FORWARDED_FOR) {
        Some(prev) => {
            let mut v = String::from_utf8_lossy(prev.as_bytes()).into_owned();
            v.push_str(", ");
            v.push_str(&ip.to_string());
            HeaderValue::from_str(&v).ok()
        }
        None => HeaderValue::from_str(&ip.to_string()).ok(),
    };
    if let Some(v) = xff {
        parts.headers.insert(X_FORWARDED_FOR.clone(), v);
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in &HOP_BY_HOP {
        if headers.contains_key(name) {
            headers.remove(name);
        }
    }
}

fn apply_edits(headers: &mut HeaderMap, edits: &HeaderEdits) {
    for op in &edits.ops {
        match op {
            HeaderOp::Set(name, value) => {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.insert(n, v);
                }
            }
            HeaderOp::Add(name, value) => {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_str(value),
                ) {
                    headers.append(n, v);
                }
            }
            HeaderOp::Remove(name) => {
                if let Ok(n) = HeaderName::from_bytes(name.as_bytes()) {
                    headers.remove(n);
                }
            }
        }
    }
}

fn local(status: u16, body: impl Into<Bytes>) -> Response<RespBody> {
    let body: Bytes = body.into();
    let mut resp = if body.is_empty() {
        Response::new(RespBody::empty())
    } else {
        let mut r = Response::new(RespBody::full(body));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        r
    };
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp
}

/// A request that failed before any response byte arrived may be sent again.
fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE
    )
}

/// Why an attempt failed, and whether the request can go out again.
// Boxing the request would cost an allocation on a path that only exists to
// avoid one; the enum lives on the stack for one await.
#[allow(clippy::large_enum_variant)]
enum Failure {
    /// Nothing was sent: retry anywhere (the request is handed back).
    Unsent(Request<ReqBody>),
    /// Sent on a reused connection that the backend had closed.
    StaleConnection,
    /// Anything else: answer 502.
    Fatal,
}

/// Picks an endpoint and proxies; retries once on another endpoint (or a
/// fresh connection) when nothing was sent or when an idempotent empty
/// request met a connection the backend had closed.
async fn forward(
    ctx: &ConnCtx,
    state: &State,
    fw: &Forward,
    parts: hyper::http::request::Parts,
    body: Incoming,
    start: Instant,
) -> Response<RespBody> {
    let shared = &ctx.shared;
    let replayable = body.is_end_stream() && idempotent(&parts.method);
    // Only replayable requests keep a copy for a second attempt.
    let copy = replayable.then(|| {
        (
            parts.method.clone(),
            parts.uri.clone(),
            parts.headers.clone(),
        )
    });
    let mut request = Some(Request::from_parts(parts, ReqBody::Incoming(body)));
    let mut failed: Option<SocketAddr> = None;
    let mut fresh_only = false;
    for attempt in 0..2 {
        let exclude = failed.as_slice();
        let endpoint = match fw.pick(state, exclude) {
            Ok(e) => e.socket_addr(),
            // No other endpoint: a stale pooled connection is retried on a
            // fresh connection to the same endpoint.
            Err(_) if fresh_only => match failed {
                Some(addr) => addr,
                None => break,
            },
            Err(e) => {
                if attempt == 0 {
                    if let Some(s) = state.service_stats(&fw.backend.service) {
                        s.observe(e.status(), start.elapsed());
                    }
                    return local(e.status(), "no endpoint available\n");
                }
                break;
            }
        };
        let ep = state.endpoint(endpoint, &shared.pool);
        let mut guard = InFlight::start(ep.clone(), state.stats(&fw.backend.service, endpoint));
        let reused_sender = if fresh_only { None } else { ep.checkout() };
        let reused = reused_sender.is_some();
        let mut sender: Sender = match reused_sender {
            Some(s) => s,
            None => match ep.connect().await {
                Ok(s) => s,
                Err(_) => {
                    if let Some(s) = guard.stats() {
                        s.connection_error();
                    }
                    failed = Some(endpoint);
                    fresh_only = false;
                    continue;
                }
            },
        };
        let Some(req) = request.take().or_else(|| rebuild(&copy)) else {
            break;
        };
        let outcome = send(&mut sender, req, reused, replayable).await;
        match outcome {
            Ok(resp) => {
                let (mut head, body) = resp.into_parts();
                strip_hop_by_hop(&mut head.headers);
                if let Some(s) = guard.stats() {
                    s.observe(head.status.as_u16(), start.elapsed());
                }
                guard.set_sender(sender);
                let mut guard = Some(guard);
                if body.is_end_stream() {
                    // Nothing more to read: the connection is free now.
                    if let Some(g) = guard.as_mut() {
                        g.complete();
                    }
                }
                return Response::from_parts(head, RespBody::Upstream(body, guard));
            }
            Err(failure) => {
                if let Some(s) = guard.stats() {
                    s.connection_error();
                }
                drop(guard);
                match failure {
                    Failure::Unsent(req) => {
                        request = Some(req);
                        failed = Some(endpoint);
                        fresh_only = true;
                    }
                    Failure::StaleConnection => {
                        failed = Some(endpoint);
                        fresh_only = true;
                    }
                    Failure::Fatal => break,
                }
            }
        }
    }
    if let Some(s) = state.service_stats(&fw.backend.service) {
        s.observe(502, start.elapsed());
    }
    local(502, "backend unavailable\n")
}

fn rebuild(copy: &Option<(Method, Uri, HeaderMap)>) -> Option<Request<ReqBody>> {
    let (method, uri, headers) = copy.as_ref()?;
    let mut req = Request::new(ReqBody::Empty);
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri.clone();
    *req.headers_mut() = headers.clone();
    Some(req)
}

async fn send(
    sender: &mut Sender,
    req: Request<ReqBody>,
    reused: bool,
    replayable: bool,
) -> Result<Response<Incoming>, Failure> {
    if sender.ready().await.is_err() {
        return Err(Failure::Unsent(req));
    }
    match sender.try_send_request(req).await {
        Ok(resp) => Ok(resp),
        Err(mut e) => {
            if let Some(req) = e.take_message() {
                return Err(Failure::Unsent(req));
            }
            if reused && replayable && closed_before_response(e.error()) {
                Err(Failure::StaleConnection)
            } else {
                Err(Failure::Fatal)
            }
        }
    }
}

/// The backend closed (or reset) the connection before any response byte:
/// the request did not reach the application, or may be replayed safely.
fn closed_before_response(err: &hyper::Error) -> bool {
    if err.is_canceled() || err.is_closed() || err.is_incomplete_message() {
        return true;
    }
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        source = s.source();
    }
    false
}
