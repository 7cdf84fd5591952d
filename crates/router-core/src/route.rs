//! `route`: from a request to a decision (which backend group, which filters),
//! and `Forward::pick`: from a decision to one endpoint.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::balance::{self, derive, LoadCounters, Stream};
use crate::filters::{redirect_location, rewrite_path, Filter, HeaderEdits, Rewrite};
use crate::matching::{best_host_score, HostScore, PathMatch, RequestMatch};
use crate::model::{Backend, Endpoint, ListenerId, RouteId};
use crate::request::{RequestInfo, RequestView};
use crate::snapshot::{HttpEntry, Inner, Listener, Rule, Snapshot, Target, VsEntry};

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub listener: ListenerId,
    /// The rule that matched; `None` for plain Service traffic.
    pub route: Option<RouteId>,
    pub action: Action,
    /// Request header edits (rule filters, then backend filters).
    pub request_headers: HeaderEdits,
    /// Response header edits (rule filters, then backend filters).
    pub response_headers: HeaderEdits,
    /// URL rewrite before forwarding.
    pub rewrite: Rewrite,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Proxy to an endpoint of a backend group: call [`Forward::pick`].
    Forward(Forward),
    /// Answer with a redirect.
    Redirect { status: u16, location: String },
    /// Answer with this status and body without contacting a backend
    /// (Istio `directResponse`, or a 500 for an invalid backend, as the
    /// Gateway API requires).
    Respond { status: u16, body: String },
}

/// The chosen backend group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forward {
    pub backend: Arc<Backend>,
    /// With sticky sessions on: only endpoints of this version may serve.
    pub version: Option<String>,
    /// The cookie to set on the response (the client is new, or its version
    /// has no ready endpoint left and it was moved).
    pub set_cookie: Option<SetCookie>,
    client_ip: Option<IpAddr>,
    random: u64,
}

/// A `Set-Cookie` to add to the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
}

/// No route matched the request; answer 404.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoRoute {
    #[error("no listener {0}")]
    UnknownListener(ListenerId),
    /// `request` is `METHOD host/path`.
    #[error("no route on {listener} matches {request}")]
    NoMatch {
        listener: ListenerId,
        request: String,
    },
}

/// The backend group has no endpoint that may take the request; answer 503.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no ready endpoint for {backend}{}", version.as_ref().map(|v| format!(" version {v}")).unwrap_or_default())]
pub struct NoEndpoint {
    pub backend: String,
    pub version: Option<String>,
}

/// Routes `req` on `snapshot`.
///
/// Listener → table: Gateway API HTTPRoutes (most specific hostname, then
/// match precedence: exact path, longest prefix, method, most headers, most
/// query params, oldest route, name, rule order) if any are attached; else
/// VirtualServices (most specific host, then first matching rule wins); else
/// the listener's own Service. Then filters, then a weighted draw among the
/// rule's backends — unless the sticky cookie names a version one of them
/// still has ready endpoints for.
pub fn route(snapshot: &Snapshot, req: &RequestInfo) -> Result<Decision, NoRoute> {
    let inner = &snapshot.inner;
    let listener = inner
        .listeners
        .get(&req.listener)
        .ok_or_else(|| NoRoute::UnknownListener(req.listener.clone()))?;
    let view = RequestView::new(req);
    let no_match = || NoRoute::NoMatch {
        listener: req.listener.clone(),
        request: format!("{} {}{}", req.method, view.host, req.path),
    };
    if !listener.http_routes.is_empty() {
        let entry = select_http(listener, &view).ok_or_else(no_match)?;
        return Ok(decide(
            inner,
            listener,
            req,
            &entry.rule,
            entry.matcher.path.as_ref(),
        ));
    }
    if !listener.virtual_services.is_empty() {
        let (entry, matched) = select_vs(listener, &view).ok_or_else(no_match)?;
        let path = matched.and_then(|m| m.path.as_ref());
        return Ok(decide(inner, listener, req, &entry.rule, path));
    }
    match &listener.default {
        Some(backend) => Ok(Decision {
            listener: req.listener.clone(),
            route: None,
            action: forward(inner, req, backend.clone(), None),
            request_headers: HeaderEdits::default(),
            response_headers: HeaderEdits::default(),
            rewrite: Rewrite::default(),
        }),
        None => Err(no_match()),
    }
}

/// The best HTTPRoute entry: highest hostname score, then the first in
/// static precedence order among equals.
fn select_http<'a>(listener: &'a Listener, view: &RequestView<'_>) -> Option<&'a HttpEntry> {
    let port = view.info.listener.port();
    let mut best: Option<(HostScore, &HttpEntry)> = None;
    for entry in &listener.http_routes {
        let listener_score = match &entry.listener_host {
            Some(pattern) => match pattern.score(&view.host) {
                Some(score) => score,
                None => continue,
            },
            None => HostScore::default(),
        };
        let score = if entry.hostnames.is_empty() {
            listener_score
        } else {
            match best_host_score(&entry.hostnames, &view.host) {
                Some(score) => score,
                None => continue,
            }
        };
        if best.is_some_and(|(b, _)| score <= b) {
            continue;
        }
        if entry.matcher.matches(view, port) {
            best = Some((score, entry));
        }
    }
    best.map(|(_, e)| e)
}

/// Istio: the VirtualServices whose host matches most specifically form the
/// virtual host; within it the first rule with a matching match wins.
fn select_vs<'a>(
    listener: &'a Listener,
    view: &RequestView<'_>,
) -> Option<(&'a VsEntry, Option<&'a RequestMatch>)> {
    let port = view.info.listener.port();
    let best = listener
        .virtual_services
        .iter()
        .filter_map(|e| best_host_score(&e.hosts, &view.host))
        .max()?;
    for entry in &listener.virtual_services {
        if best_host_score(&entry.hosts, &view.host) != Some(best) {
            continue;
        }
        if entry.matches.is_empty() {
            return Some((entry, None));
        }
        if let Some(m) = entry.matches.iter().find(|m| m.matches(view, port)) {
            return Some((entry, Some(m)));
        }
    }
    None
}

fn respond(status: u16, body: impl Into<String>) -> Action {
    Action::Respond {
        status,
        body: body.into(),
    }
}

fn decide(
    inner: &Inner,
    listener: &Listener,
    req: &RequestInfo,
    rule: &Rule,
    matched_path: Option<&PathMatch>,
) -> Decision {
    let mut decision = Decision {
        listener: req.listener.clone(),
        route: Some(rule.id.clone()),
        action: respond(500, ""),
        request_headers: HeaderEdits::default(),
        response_headers: HeaderEdits::default(),
        rewrite: Rewrite::default(),
    };
    let listener_port = req.listener.port();
    let mut redirect = None;
    for filter in &rule.filters {
        match filter {
            Filter::RequestHeaders(edits) => decision.request_headers.extend(edits),
            Filter::ResponseHeaders(edits) => decision.response_headers.extend(edits),
            Filter::Redirect(spec) => {
                redirect = Some((
                    spec.status,
                    redirect_location(spec, req, listener_port, matched_path),
                ))
            }
            Filter::Rewrite { host, path } => {
                if host.is_some() {
                    decision.rewrite.host = host.clone();
                }
                if let Some(path) = path {
                    decision.rewrite.path = Some(rewrite_path(path, &req.path, matched_path));
                }
            }
            Filter::Unsupported(what) => {
                decision.action = respond(500, format!("unsupported filter: {what}"));
                return decision;
            }
        }
    }
    if let Some((status, location)) = redirect {
        decision.action = Action::Redirect { status, location };
        return decision;
    }
    if let Some((status, body)) = &rule.direct_response {
        decision.action = respond(*status, body.clone());
        return decision;
    }
    if rule.backends.is_empty() {
        decision.action = match (&listener.default, rule.empty_means_parent) {
            (Some(parent), true) => forward(inner, req, parent.clone(), None),
            _ => respond(500, "route rule has no backends"),
        };
        return decision;
    }

    // A client pinned to a version goes back to the backend that still has it.
    let cookie = req.sticky_value(&inner.sticky_cookie);
    let pinned = cookie.as_deref().and_then(|version| {
        rule.backends.iter().enumerate().find_map(|(i, t)| {
            let backend = resolve(inner, &t.target, listener_port)?;
            let ok = t.weight > 0 && backend.sticky.is_some() && backend.has_ready_version(version);
            ok.then_some(i)
        })
    });
    let index = match pinned {
        Some(i) => i,
        None => {
            let weights: Vec<u32> = rule.backends.iter().map(|t| t.weight).collect();
            match balance::weighted_index(&weights, derive(req.random, Stream::Backend)) {
                Some(i) => i,
                None => {
                    decision.action = respond(500, "all backend weights are zero");
                    return decision;
                }
            }
        }
    };
    let chosen = &rule.backends[index];
    let backend = match (
        &chosen.target,
        resolve(inner, &chosen.target, listener_port),
    ) {
        (_, Some(backend)) => backend,
        (Target::Invalid(reason), None) => {
            decision.action = respond(500, reason.clone());
            return decision;
        }
        (_, None) => {
            decision.action = respond(
                500,
                format!("no Service port {listener_port} for destination"),
            );
            return decision;
        }
    };
    for filter in &chosen.filters {
        match filter {
            Filter::RequestHeaders(edits) => decision.request_headers.extend(edits),
            Filter::ResponseHeaders(edits) => decision.response_headers.extend(edits),
            _ => {}
        }
    }
    decision.action = forward(inner, req, backend, cookie);
    decision
}

fn resolve(inner: &Inner, target: &Target, listener_port: u16) -> Option<Arc<Backend>> {
    match target {
        Target::Backend(b) => Some(b.clone()),
        Target::ListenerPort(key) => {
            let mut key = key.clone();
            key.port = listener_port;
            inner.backends.get(&key).cloned()
        }
        Target::Invalid(_) => None,
    }
}

/// Forward to `backend`, pinning or assigning the sticky version.
fn forward(
    inner: &Inner,
    req: &RequestInfo,
    backend: Arc<Backend>,
    cookie: Option<String>,
) -> Action {
    let cookie = cookie.or_else(|| req.sticky_value(&inner.sticky_cookie));
    let (version, set_cookie) = match &backend.sticky {
        None => (None, None),
        Some(sticky) => match cookie.filter(|v| backend.has_ready_version(v)) {
            Some(v) => (Some(v), None),
            None => {
                let version = balance::choose_version(&backend, req.client_ip, req.random);
                let set_cookie = version.as_ref().map(|v| SetCookie {
                    name: sticky.cookie.clone(),
                    value: v.clone(),
                });
                (version, set_cookie)
            }
        },
    };
    Action::Forward(Forward {
        backend,
        version,
        set_cookie,
        client_ip: req.client_ip,
        random: req.random,
    })
}

// === impl Forward ===

impl Forward {
    /// One endpoint for the request: ready endpoints of the pinned version
    /// (if any), else serving-but-terminating ones when the backend has no
    /// ready endpoint at all; never unready ones nor those in `exclude` (pass
    /// the endpoint that just failed to retry elsewhere). ClientIP affinity
    /// hashes the client; otherwise the backend's balancer decides.
    pub fn pick(
        &self,
        load: &dyn LoadCounters,
        exclude: &[SocketAddr],
    ) -> Result<&Endpoint, NoEndpoint> {
        let candidates = balance::candidates(&self.backend, self.version.as_deref(), exclude);
        balance::pick(
            &self.backend,
            &candidates,
            self.client_ip,
            self.random,
            load,
        )
        .ok_or_else(|| NoEndpoint {
            backend: self.backend.to_string(),
            version: self.version.clone(),
        })
    }
}

// === impl SetCookie ===

impl SetCookie {
    /// The `Set-Cookie` header value: a session cookie for the whole site.
    pub fn header_value(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax",
            self.name, self.value
        )
    }
}

// === impl NoRoute ===

impl NoRoute {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        404
    }
}

impl NoEndpoint {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        503
    }
}

// === impl Decision ===

/// A one-line summary, stable enough for table tests and logs:
/// `HTTPRoute ns/web#0 -> ns/web-v2:80 version=abc set-cookie=abc`,
/// `redirect 302 https://…`, `respond 500 …`; edits and rewrites follow.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.route {
            Some(id) => write!(f, "{id} ")?,
            None => write!(f, "{} ", self.listener)?,
        }
        match &self.action {
            Action::Forward(fw) => {
                write!(f, "-> {}", fw.backend)?;
                if let Some(v) = &fw.version {
                    write!(f, " version={v}")?;
                }
                if let Some(c) = &fw.set_cookie {
                    write!(f, " set-cookie={}", c.value)?;
                }
            }
            Action::Redirect { status, location } => write!(f, "redirect {status} {location}")?,
            Action::Respond { status, body } => {
                write!(f, "respond {status}")?;
                if !body.is_empty() {
                    write!(f, " {body}")?;
                }
            }
        }
        for (label, edits) in [
            ("req", &self.request_headers),
            ("resp", &self.response_headers),
        ] {
            for op in &edits.ops {
                match op {
                    crate::HeaderOp::Set(n, v) => write!(f, " {label}:set:{n}={v}")?,
                    crate::HeaderOp::Add(n, v) => write!(f, " {label}:add:{n}={v}")?,
                    crate::HeaderOp::Remove(n) => write!(f, " {label}:remove:{n}")?,
                }
            }
        }
        if let Some(host) = &self.rewrite.host {
            write!(f, " rewrite-host={host}")?;
        }
        if let Some(path) = &self.rewrite.path {
            write!(f, " rewrite-path={path}")?;
        }
        Ok(())
    }
}
