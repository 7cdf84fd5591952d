//! Per-backend request metrics in the Prometheus text format.
//!
//! One [`Stats`] per (namespace, service, pod, pod-template-hash); the
//! request path holds an `Arc<Stats>` found through the snapshot's index and
//! only touches atomics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Histogram bucket upper bounds in seconds: 0.5 ms … 10 s.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The same bounds in microseconds, for integer comparison on the hot path.
const BUCKETS_MICROS: [u64; 14] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000, 5_000_000, 10_000_000,
];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Labels of one backend series.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Labels {
    pub namespace: String,
    pub service: String,
    pub pod: String,
    pub pod_template_hash: String,
}

/// Counters of one backend series. All atomics: written by every request.
#[derive(Default)]
pub(crate) struct Stats {
    requests: [AtomicU64; 5],
    /// Non-cumulative bucket counts; the last slot is `+Inf` only.
    buckets: [AtomicU64; 15],
    latency_sum_micros: AtomicU64,
    in_flight: AtomicI64,
    connection_errors: AtomicU64,
}

/// The registry of every series seen since start.
#[derive(Default)]
pub(crate) struct Metrics {
    series: Mutex<BTreeMap<Labels, Arc<Stats>>>,
}

// === impl Stats ===

impl Stats {
    pub fn start(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn finish(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// One response (or local error) with `status`, `elapsed` after the
    /// request arrived.
    pub fn observe(&self, status: u16, elapsed: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let slot = BUCKETS_MICROS
            .iter()
            .position(|&b| micros <= b)
            .unwrap_or(BUCKETS_MICROS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub fn connection_error(&self) {
        self.connection_errors.fetch_add(1, Ordering::Relaxed);
    }
}

// === impl Metrics ===

impl Metrics {
    /// The series for `labels`, created on first use.
    pub fn series(&self, labels: Labels) -> Arc<Stats> {
        let mut map = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(labels).or_default().clone()
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let series: Vec<(Labels, Arc<Stats>)> = {
            let map = self
                .series
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.iter().map(|(l, s)| (l.clone(), s.clone())).collect()
        };
        let mut out = String::with_capacity(256 + series.len() * 1024);
        out.push_str("# HELP slipway_router_requests_total Requests proxied, by backend pod and status class.\n");
        out.push_str("# TYPE slipway_router_requests_total counter\n");
        for (labels, stats) in &series {
            for (i, class) in CLASSES.iter().enumerate() {
                let n = stats.requests[i].load(Ordering::Relaxed);
                if n > 0 || (i == 1 && all_zero(stats)) {
                    let _ = writeln!(
                        out,
                        "slipway_router_requests_total{{{},code=\"{class}\"}} {n}",
                        label_text(labels)
                    );
                }
            }
        }
        out.push_str("# HELP slipway_router_request_duration_seconds Time from request to response headers.\n");
        out.push_str("# TYPE slipway_router_request_duration_seconds histogram\n");
        for (labels, stats) in &series {
            let l = label_text(labels);
            let mut cumulative = 0;
            for (i, bound) in BUCKETS.iter().enumerate() {
                cumulative += stats.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "slipway_router_request_duration_seconds_bucket{{{l},le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += stats.buckets[BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "slipway_router_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {cumulative}"
            );
            let sum = stats.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "slipway_router_request_duration_seconds_sum{{{l}}} {sum}"
            );
            let _ = writeln!(
                out,
                "slipway_router_request_duration_seconds_count{{{l}}} {cumulative}"
            );
        }
        out.push_str("# HELP slipway_router_in_flight Requests in flight to a backend pod.\n");
        out.push_str("# TYPE slipway_router_in_flight gauge\n");
        for (labels, stats) in &series {
            let _ = writeln!(
                out,
                "slipway_router_in_flight{{{}}} {}",
                label_text(labels),
                stats.in_flight.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP slipway_router_connection_errors_total Failed connections or exchanges with a backend pod.\n");
        out.push_str("# TYPE slipway_router_connection_errors_total counter\n");
        for (labels, stats) in &series {
            let _ = writeln!(
                out,
                "slipway_router_connection_errors_total{{{}}} {}",
                label_text(labels),
                stats.connection_errors.load(Ordering::Relaxed)
            );
        }
        out
    }
}

fn all_zero(stats: &Stats) -> bool {
    stats
        .requests
        .iter()
        .all(|r| r.load(Ordering::Relaxed) == 0)
}

fn label_text(l: &Labels) -> String {
    format!(
        "namespace=\"{}\",service=\"{}\",pod=\"{}\",pod_template_hash=\"{}\"",
        escape(&l.namespace),
        escape(&l.service),
        escape(&l.pod),
        escape(&l.pod_template_hash)
    )
}

/// Label values escape backslash, quote and newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
