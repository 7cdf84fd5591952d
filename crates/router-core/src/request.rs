//! What the router knows about a request when it routes it.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::ListenerId;

/// The routing-relevant parts of one HTTP request.
///
/// Build it with [`RequestInfo::new`] and the `with_*` setters. Header names
/// must be lowercase (hyper's already are); repeated headers are repeated
/// entries and are joined with `,` for matching (`; ` for `cookie`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    /// Where the request arrived.
    pub listener: ListenerId,
    /// `http` or `https`; used for redirects and Istio `scheme` matches.
    pub scheme: String,
    /// The Host header (or `:authority`), port included if the client sent one.
    pub host: String,
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub client_ip: Option<IpAddr>,
    /// The sticky-version cookie. When `None`, routing reads it from the
    /// `cookie` header under [`crate::Snapshot::sticky_cookie_name`].
    pub sticky_cookie: Option<String>,
    /// A uniformly random value supplied by the caller for this request: the
    /// weighted backend draw, version draw and random endpoint choice all
    /// derive from it, so the same value always gives the same decision.
    pub random: u64,
}

/// A request prepared for matching: host normalised, query parsed.
pub(crate) struct RequestView<'a> {
    pub info: &'a RequestInfo,
    /// Lowercase host without port or trailing dot.
    pub host: String,
    pub query: Vec<(String, String)>,
}

// === impl RequestInfo ===

impl RequestInfo {
    /// A `method` request for `path_and_query` on `listener`, with no headers,
    /// an empty host, scheme `http` and random value 0.
    pub fn new(listener: ListenerId, method: &str, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, q),
            None => (path_and_query, ""),
        };
        RequestInfo {
            listener,
            scheme: "http".to_string(),
            host: String::new(),
            method: method.to_string(),
            path: if path.is_empty() { "/" } else { path }.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            client_ip: None,
            sticky_cookie: None,
            random: 0,
        }
    }

    pub fn with_host(mut self, host: &str) -> Self {
        self.host = host.to_string();
        self
    }

    /// Adds a header; the name is lowercased.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    pub fn with_client_ip(mut self, ip: IpAddr) -> Self {
        self.client_ip = Some(ip);
        self
    }

    pub fn with_sticky_cookie(mut self, value: &str) -> Self {
        self.sticky_cookie = Some(value.to_string());
        self
    }

    pub fn with_random(mut self, random: u64) -> Self {
        self.random = random;
        self
    }

    pub fn with_scheme(mut self, scheme: &str) -> Self {
        self.scheme = scheme.to_string();
        self
    }

    /// The value of header `name` (lowercase), repeated headers joined.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next()?;
        let Some(second) = values.next() else {
            return Some(Cow::Borrowed(first));
        };
        let sep = if name == "cookie" { "; " } else { "," };
        let mut joined = format!("{first}{sep}{second}");
        for v in values {
            joined.push_str(sep);
            joined.push_str(v);
        }
        Some(Cow::Owned(joined))
    }

    /// The sticky cookie: the explicit field, else cookie `name` from the headers.
    pub fn sticky_value(&self, name: &str) -> Option<String> {
        if let Some(v) = &self.sticky_cookie {
            return Some(v.clone());
        }
        let cookies = self.header("cookie")?;
        cookie_value(&cookies, name).map(str::to_string)
    }
}

/// The value of cookie `name` in a `Cookie` header (`a=1; b=2`).
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

// === impl RequestView ===

impl<'a> RequestView<'a> {
    pub fn new(info: &'a RequestInfo) -> Self {
        RequestView {
            info,
            host: normalize_host(&info.host),
            query: parse_query(&info.query),
        }
    }

    /// The first value of query parameter `name` (Envoy matches the first).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Lowercase, without the port and any trailing dot.
pub(crate) fn normalize_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        match rest.split_once(']') {
            Some((addr, _)) => addr,
            None => rest,
        }
    } else {
        match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        }
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((n, v)) => (percent_decode(n), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding; invalid escapes stay as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
