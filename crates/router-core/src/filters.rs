//! Route filters: header edits, redirects and URL rewrites, resolved into
//! plain values the data plane applies without knowing which API asked.

use crate::matching::PathMatch;
use crate::request::{normalize_host, RequestInfo};

/// Header changes, applied in order by [`HeaderEdits::apply`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HeaderEdits {
    pub ops: Vec<HeaderOp>,
}

/// One header change. Names are lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderOp {
    /// Replace every value of the header with this one.
    Set(String, String),
    /// Append a value, keeping existing ones.
    Add(String, String),
    Remove(String),
}

/// A URL rewrite to apply before forwarding.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Rewrite {
    /// New Host header.
    pub host: Option<String>,
    /// New path (the query string is kept as it was).
    pub path: Option<String>,
}

/// A rule or backend filter as compiled from a route.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    RequestHeaders(HeaderEdits),
    ResponseHeaders(HeaderEdits),
    Redirect(RedirectSpec),
    Rewrite {
        host: Option<String>,
        path: Option<PathRewrite>,
    },
    /// A filter that cannot be honoured (e.g. an `ExtensionRef`): the Gateway
    /// API requires an error response rather than skipping it.
    Unsupported(String),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PathRewrite {
    /// Gateway API `ReplaceFullPath`, Istio `redirect.uri`.
    Full(String),
    /// Gateway API `ReplacePrefixMatch`: segment-aware prefix replacement.
    GatewayPrefix(String),
    /// Istio `rewrite.uri`: the matched prefix (or the whole path for exact
    /// and regex matches) is replaced literally.
    IstioPrefix(String),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RedirectSpec {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: Option<PathRewrite>,
    pub status: u16,
    /// Istio keeps the request's authority (and its port) unless told
    /// otherwise; the Gateway API derives the port from the scheme.
    pub istio: bool,
}

// === impl HeaderEdits ===

impl HeaderEdits {
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(crate) fn extend(&mut self, other: &HeaderEdits) {
        self.ops.extend(other.ops.iter().cloned());
    }

    /// Applies the edits to a header list (names compared lowercase).
    pub fn apply(&self, headers: &mut Vec<(String, String)>) {
        for op in &self.ops {
            match op {
                HeaderOp::Set(name, value) => {
                    headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                    headers.push((name.clone(), value.clone()));
                }
                HeaderOp::Add(name, value) => headers.push((name.clone(), value.clone())),
                HeaderOp::Remove(name) => headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name)),
            }
        }
    }
}

// === path rewriting ===

/// The path after `rewrite`, given the path condition that matched.
pub(crate) fn rewrite_path(
    rewrite: &PathRewrite,
    path: &str,
    matched: Option<&PathMatch>,
) -> String {
    match rewrite {
        PathRewrite::Full(p) => p.clone(),
        PathRewrite::GatewayPrefix(replacement) => match matched {
            Some(PathMatch::SegmentPrefix(prefix) | PathMatch::Prefix(prefix)) => {
                replace_prefix_match(path, prefix, replacement)
            }
            None => replace_prefix_match(path, "/", replacement),
            // The API only allows ReplacePrefixMatch with PathPrefix matches.
            Some(_) => replacement.clone(),
        },
        PathRewrite::IstioPrefix(replacement) => match matched {
            Some(PathMatch::Prefix(prefix) | PathMatch::SegmentPrefix(prefix)) => {
                let rest = path.get(prefix.len()..).unwrap_or("");
                format!("{replacement}{rest}")
            }
            Some(_) => replacement.clone(),
            // Istio routes a rule without a uri match as prefix "/".
            None => format!("{replacement}{}", path.get(1..).unwrap_or("")),
        },
    }
}

/// Gateway API `ReplacePrefixMatch`: prefix and replacement are compared as
/// path segments, so trailing slashes on either never double or vanish
/// (`/foo/bar` with prefix `/foo` and replacement `/xyz/` gives `/xyz/bar`;
/// replacement `` gives `/bar`; `/foo` with replacement `/` gives `/`).
pub(crate) fn replace_prefix_match(path: &str, prefix: &str, replacement: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let rest = path.get(prefix.len()..).unwrap_or("");
    let replacement = replacement.trim_end_matches('/');
    let mut out = format!("{replacement}{rest}");
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

// === redirects ===

/// The `Location` of a redirect.
pub(crate) fn redirect_location(
    spec: &RedirectSpec,
    req: &RequestInfo,
    listener_port: u16,
    matched: Option<&PathMatch>,
) -> String {
    let scheme = spec.scheme.clone().unwrap_or_else(|| req.scheme.clone());
    let path = match &spec.path {
        Some(rw) => rewrite_path(rw, &req.path, matched),
        None => req.path.clone(),
    };
    let authority = if spec.istio {
        let host = spec.host.clone().unwrap_or_else(|| req.host.clone());
        match spec.port {
            Some(port) => format!("{}:{port}", bracket(&normalize_host(&host))),
            None => host,
        }
    } else {
        let host = match &spec.host {
            Some(h) => h.clone(),
            None => normalize_host(&req.host),
        };
        let port = spec.port.unwrap_or(match spec.scheme.as_deref() {
            Some("http") => 80,
            Some("https") => 443,
            _ => listener_port,
        });
        let default_port = matches!((scheme.as_str(), port), ("http", 80) | ("https", 443));
        if default_port {
            bracket(&host)
        } else {
            format!("{}:{port}", bracket(&host))
        }
    };
    let mut location = format!("{scheme}://{authority}{path}");
    if !req.query.is_empty() {
        location.push('?');
        location.push_str(&req.query);
    }
    location
}

/// IPv6 literals need brackets in a URL authority.
fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}
