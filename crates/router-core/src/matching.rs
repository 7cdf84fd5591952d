//! Request matching: hosts, paths, headers, query parameters, methods.
//!
//! One [`RequestMatch`] is one Gateway API `HTTPRouteMatch` or one Istio
//! `HTTPMatchRequest`; every condition in it must hold (AND), and a rule
//! matches when any of its matches does (OR).

use std::cmp::Ordering;

use crate::regex::Regex;
use crate::request::RequestView;

/// A hostname as routes write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostPattern {
    /// `*`: every host.
    Any,
    /// `foo.example.com` (stored lowercase).
    Exact(String),
    /// `*.example.com`, stored as `.example.com`: one or more labels before it.
    Suffix(String),
}

/// How specific a matching hostname is: Gateway API precedence gives rules
/// of the route with the longest non-wildcard matching hostname first, then
/// the longest matching hostname. Larger is more specific.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct HostScore {
    exact_len: usize,
    len: usize,
}

/// A string condition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StringMatch {
    Exact(String),
    Prefix(String),
    Regex(Regex),
    /// Istio's empty `StringMatch {}`: the header is present.
    Present,
}

/// A path condition.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PathMatch {
    Exact(String),
    /// Gateway API `PathPrefix`: whole segments (`/abc` matches `/abc`, `/abc/`,
    /// `/abc/def`, not `/abcd`); a trailing `/` in the value is ignored.
    SegmentPrefix(String),
    /// Istio `uri.prefix`: a plain string prefix.
    Prefix(String),
    Regex(Regex),
}

/// One match: all of its conditions must hold.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct RequestMatch {
    pub path: Option<PathMatch>,
    /// Istio `ignoreUriCase`.
    pub ignore_case: bool,
    pub method: Option<StringMatch>,
    /// Lowercase header name and condition.
    pub headers: Vec<(String, StringMatch)>,
    /// Istio `withoutHeaders`: fails when any of these matches.
    pub without_headers: Vec<(String, StringMatch)>,
    pub query: Vec<(String, StringMatch)>,
    /// Istio `authority` (the Host header, port included).
    pub authority: Option<StringMatch>,
    /// Istio `scheme`.
    pub scheme: Option<StringMatch>,
    /// Istio `port`: the listener port.
    pub port: Option<u16>,
}

// === impl HostPattern ===

impl HostPattern {
    pub fn parse(host: &str) -> HostPattern {
        let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || host == "*" {
            HostPattern::Any
        } else if let Some(suffix) = host.strip_prefix('*') {
            HostPattern::Suffix(suffix.to_string())
        } else {
            HostPattern::Exact(host)
        }
    }

    /// The score of `host` (normalised) against this pattern, if it matches.
    pub fn score(&self, host: &str) -> Option<HostScore> {
        match self {
            HostPattern::Any => Some(HostScore::default()),
            HostPattern::Exact(h) => (h == host).then_some(HostScore {
                exact_len: h.len(),
                len: h.len(),
            }),
            HostPattern::Suffix(s) => (host.len() > s.len() && host.ends_with(s.as_str()))
                .then_some(HostScore {
                    exact_len: 0,
                    len: s.len() + 1,
                }),
        }
    }

    /// Whether two patterns can match a common host (Gateway API listener and
    /// route hostname intersection).
    pub fn intersects(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Any, _) | (_, HostPattern::Any) => true,
            (HostPattern::Exact(a), HostPattern::Exact(b)) => a == b,
            (HostPattern::Exact(h), p @ HostPattern::Suffix(_))
            | (p @ HostPattern::Suffix(_), HostPattern::Exact(h)) => p.score(h).is_some(),
            (HostPattern::Suffix(a), HostPattern::Suffix(b)) => {
                a.ends_with(b.as_str()) || b.ends_with(a.as_str())
            }
        }
    }
}

/// The best score among `patterns` for `host`; an empty list matches every
/// host with the lowest score.
pub(crate) fn best_host_score(patterns: &[HostPattern], host: &str) -> Option<HostScore> {
    if patterns.is_empty() {
        return Some(HostScore::default());
    }
    patterns.iter().filter_map(|p| p.score(host)).max()
}

// === impl StringMatch ===

impl StringMatch {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            StringMatch::Exact(s) => value == s,
            StringMatch::Prefix(p) => value.starts_with(p.as_str()),
            StringMatch::Regex(re) => re.is_full_match(value),
            StringMatch::Present => true,
        }
    }
}

// === impl PathMatch ===

impl PathMatch {
    fn matches(&self, path: &str, ignore_case: bool) -> bool {
        if ignore_case {
            // Istio lowercases both sides; the Gateway API never sets this.
            let path = path.to_lowercase();
            return match self {
                PathMatch::Exact(p) => path == p.to_lowercase(),
                PathMatch::Prefix(p) => path.starts_with(&p.to_lowercase()),
                _ => self.matches(&path, false),
            };
        }
        match self {
            PathMatch::Exact(p) => path == p,
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::SegmentPrefix(p) => {
                let p = p.trim_end_matches('/');
                p.is_empty()
                    || path == p
                    || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'/'))
            }
            PathMatch::Regex(re) => re.is_full_match(path),
        }
    }
}

// === impl RequestMatch ===

impl RequestMatch {
    pub fn matches(&self, req: &RequestView<'_>, listener_port: u16) -> bool {
        let info = req.info;
        if let Some(path) = &self.path {
            if !path.matches(&info.path, self.ignore_case) {
                return false;
            }
        }
        if let Some(method) = &self.method {
            if !method.matches(&info.method) {
                return false;
            }
        }
        if self.port.is_some_and(|p| p != listener_port) {
            return false;
        }
        if let Some(authority) = &self.authority {
            if !authority.matches(&info.host) {
                return false;
            }
        }
        if let Some(scheme) = &self.scheme {
            if !scheme.matches(&info.scheme) {
                return false;
            }
        }
        for (name, cond) in &self.headers {
            match info.header(name) {
                Some(v) if cond.matches(&v) => {}
                _ => return false,
            }
        }
        for (name, cond) in &self.without_headers {
            if info.header(name).is_some_and(|v| cond.matches(&v)) {
                return false;
            }
        }
        for (name, cond) in &self.query {
            match req.query_param(name) {
                Some(v) if cond.matches(v) => {}
                _ => return false,
            }
        }
        true
    }

    /// Gateway API match precedence, most specific first: an `Exact` path,
    /// then (our choice where the spec leaves it open) a regular expression,
    /// then the longest `PathPrefix`; then a method match; then more header
    /// matches; then more query parameter matches.
    pub fn precedence_cmp(&self, other: &RequestMatch) -> Ordering {
        let key = |m: &RequestMatch| {
            let (class, len) = match &m.path {
                Some(PathMatch::Exact(_)) => (3, 0),
                Some(PathMatch::Regex(_)) => (2, 0),
                Some(PathMatch::SegmentPrefix(p) | PathMatch::Prefix(p)) => (1, p.len()),
                None => (1, 1),
            };
            (
                class,
                len,
                m.method.is_some(),
                m.headers.len(),
                m.query.len(),
            )
        };
        key(other).cmp(&key(self))
    }
}
