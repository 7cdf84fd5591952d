//! `slipway demo-app`: the built-in `slipway/demo:<tag>` image. Scripts and
//! tests depend on this contract:
//!
//! * listens on `$POD_IP` (else `0.0.0.0`) at `$PORT`, else 8080;
//! * `GET /` → 200 `slipway-demo <tag> pod=<pod name>`; `GET /version` → the tag;
//! * `/healthz` → 200; `/readyz` → 200 once listening (503 with `DEMO_READY=false`);
//! * `DEMO_TAG` (the image tag), `DEMO_START_DELAY_MS` (delay before listening),
//!   `DEMO_LATENCY_MS` (added per request), `DEMO_ERROR_RATE` (0.0–1.0 share of 500s);
//! * SIGTERM stops accepting and lets in-flight requests finish.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

struct Demo {
    tag: String,
    pod: String,
    latency: Duration,
    error_rate: f64,
    ready: bool,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub async fn run() -> anyhow::Result<()> {
    let port: u16 = env_or("PORT", "8080")
        .parse()
        .context("PORT must be a port number")?;
    let ip: IpAddr = env_or("POD_IP", "0.0.0.0")
        .parse()
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let delay: u64 = env_or("DEMO_START_DELAY_MS", "0")
        .parse()
        .context("DEMO_START_DELAY_MS")?;
    let demo = Arc::new(Demo {
        tag: env_or("DEMO_TAG", "latest"),
        pod: std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_default(),
        latency: Duration::from_millis(
            env_or("DEMO_LATENCY_MS", "0")
                .parse()
                .context("DEMO_LATENCY_MS")?,
        ),
        error_rate: env_or("DEMO_ERROR_RATE", "0")
            .parse::<f64>()
            .context("DEMO_ERROR_RATE")?
            .clamp(0.0, 1.0),
        ready: env_or("DEMO_READY", "true") != "false",
    });
    tokio::time::sleep(Duration::from_millis(delay)).await;

    let app = Router::new()
        .route("/", get(root))
        .route(
            "/version",
            get(|State(d): State<Arc<Demo>>| async move { format!("{}\n", d.tag) }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(d): State<Arc<Demo>>| async move {
                if d.ready {
                    (StatusCode::OK, "ok\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                }
            }),
        )
        .with_state(demo.clone());
    let addr = SocketAddr::new(ip, port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    println!("slipway-demo {} listening on {addr}", demo.tag);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            println!("slipway-demo: SIGTERM received, draining");
        })
        .await?;
    Ok(())
}

async fn root(State(d): State<Arc<Demo>>) -> (StatusCode, String) {
    if !d.latency.is_zero() {
        tokio::time::sleep(d.latency).await;
    }
    if d.error_rate > 0.0 && rand_unit() < d.error_rate {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("slipway-demo {} pod={} error\n", d.tag, d.pod),
        );
    }
    (
        StatusCode::OK,
        format!("slipway-demo {} pod={}\n", d.tag, d.pod),
    )
}

/// A uniform sample in [0, 1) without a random-number dependency: the low
/// bits of the clock are noise enough for an error-rate knob.
fn rand_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}
