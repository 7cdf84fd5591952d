//! A steady HTTP/1.1 load with keep-alive, for zero-loss tests: `clients`
//! threads, each on one persistent connection (reconnecting only when the
//! server closes it), sending `GET path` back to back until stopped or a
//! request budget is spent. Every request is recorded with its start and end
//! time, so a test can ask what was answered after a given moment.
//!
//! Plain std sockets and a minimal response parser (status line,
//! Content-Length or chunked body) keep the client itself from being the
//! thing under test: any failure it reports is the server's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the client saw it.
#[derive(Clone, Debug)]
pub struct Sample {
    pub client: usize,
    pub start: Instant,
    pub end: Instant,
    /// HTTP status, or 0 when the request failed without a response.
    pub status: u16,
    pub body: String,
    pub error: Option<String>,
    /// Whether this request went out on a connection reused from before.
    pub reused: bool,
}

impl Sample {
    pub fn ok(&self) -> bool {
        self.error.is_none() && (200..300).contains(&self.status)
    }
}

/// A running load; stop it with [`Load::finish`].
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<()>>,
    samples: Arc<Mutex<Vec<Sample>>>,
}

impl Load {
    /// Start `clients` keep-alive clients against `addr` (Host header
    /// `host`), at most `max_requests` requests in all.
    pub fn start(
        addr: SocketAddr,
        host: &str,
        path: &str,
        clients: usize,
        max_requests: usize,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slipway-load\r\n\r\n");
        let threads = (0..clients)
            .map(|client| {
                let (stop, sent, samples, request) =
                    (stop.clone(), sent.clone(), samples.clone(), request.clone());
                std::thread::spawn(move || {
                    let mut conn: Option<BufReader<TcpStream>> = None;
                    while !stop.load(Ordering::Relaxed)
                        && sent.fetch_add(1, Ordering::Relaxed) < max_requests
                    {
                        let reused = conn.is_some();
                        let start = Instant::now();
                        let result = one(&mut conn, addr, &request);
                        let end = Instant::now();
                        let sample = match result {
                            Ok((status, body, keep)) => {
                                if !keep {
                                    conn = None;
                                }
                                Sample {
                                    client,
                                    start,
                                    end,
                                    status,
                                    body,
                                    error: None,
                                    reused,
                                }
                            }
                            Err(e) => {
                                conn = None;
                                Sample {
                                    client,
                                    start,
                                    end,
                                    status: 0,
                                    body: String::new(),
                                    error: Some(e.to_string()),
                                    reused,
                                }
                            }
                        };
                        if let Ok(mut s) = samples.lock() {
                            s.push(sample);
                        }
                    }
                })
            })
            .collect();
        Load {
            stop,
            sent,
            threads,
            samples,
        }
    }

    /// Requests answered so far (successful or not).
    pub fn count(&self) -> usize {
        self.samples.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// A copy of the samples so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stop every client and return every sample, in completion order.
    pub fn finish(mut self) -> Vec<Sample> {
        self.stop_threads();
        self.samples.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn stop_threads(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.sent.store(usize::MAX / 2, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop_threads();
    }
}

/// Send one request on `conn` (connecting first if needed); returns the
/// status, the body and whether the connection may be reused.
fn one(
    conn: &mut Option<BufReader<TcpStream>>,
    addr: SocketAddr,
    request: &str,
) -> std::io::Result<(u16, String, bool)> {
    if conn.is_none() {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_nodelay(true)?;
        *conn = Some(BufReader::new(s));
    }
    let Some(r) = conn.as_mut() else {
        return Err(std::io::Error::other("no connection"));
    };
    r.get_mut().write_all(request.as_bytes())?;
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before a response",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut keep = true;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(std::io::Error::other("eof in headers"));
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            match k.as_str() {
                "content-length" => length = v.parse().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => keep = !v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|e| std::io::Error::other(format!("chunk size {size:?}: {e}")))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
        keep = false;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned(), keep))
}

/// Failed requests, one line each, for an assertion message.
pub fn failures(samples: &[Sample]) -> Vec<String> {
    samples
        .iter()
        .filter(|s| !s.ok())
        .map(|s| {
            format!(
                "client {} status {} error {:?} reused {} body {:?}",
                s.client,
                s.status,
                s.error,
                s.reused,
                s.body.chars().take(200).collect::<String>()
            )
        })
        .collect()
}

/// One `GET path` on a fresh connection: (status, body).
pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut conn = None;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    one(&mut conn, addr, &request).map(|(status, body, _)| (status, body))
}
