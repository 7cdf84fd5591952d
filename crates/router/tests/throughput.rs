//! A rough throughput check, ignored by default (run it in release mode):
//! `cargo test --release -p router --test throughput -- --ignored --nocapture`.
//! Keep-alive clients against a backend directly and through the router.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use tokio::time::{timeout, Instant};

async fn run(addr: SocketAddr, clients: usize, per_client: usize) -> (f64, Duration) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        tasks.push(tokio::spawn(async move {
            let mut c = Client1::connect(addr).await;
            let mut worst = Duration::ZERO;
            for _ in 0..per_client {
                let t = Instant::now();
                let (status, _) = c.get("/").await;
                assert_eq!(status, 200);
                worst = worst.max(t.elapsed());
            }
            worst
        }));
    }
    let mut worst = Duration::ZERO;
    for t in tasks {
        worst = worst.max(t.await.expect("client"));
    }
    let rps = (clients * per_client) as f64 / start.elapsed().as_secs_f64();
    (rps, worst)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn throughput_direct_and_through_router() {
    timeout(Duration::from_secs(120), async {
        let env = Env::start(120).await;
        let (port, bs) = backends(&["a"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa")],
        ))
        .await;
        let rss_before = rss_kib();
        let (direct, dw) = run(bs[0].addr, 16, 5_000).await;
        let (routed, rw) = run(SocketAddr::new(ip, 8080), 16, 5_000).await;
        println!(
            "direct {direct:.0} rps (worst {dw:?}); via router {routed:.0} rps (worst {rw:?}); \
             process RSS {} KiB -> {} KiB (apiserver, clients and backend included)",
            rss_before,
            rss_kib()
        );
        env.stop().await;
    })
    .await
    .expect("timed out");
}
