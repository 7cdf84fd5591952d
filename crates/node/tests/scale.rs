//! Many pods at once (ignored by default; run with
//! `cargo test -p node --release --test scale -- --ignored --nocapture`,
//! `PODS=n` to change the count): pod startup latency the SLO's way,
//! creation → all containers running, observed through a watch.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn many_pods_start_quickly() {
    bounded(300, async {
        let env = start().await;
        let n: usize = std::env::var("PODS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(100);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, tokio::time::Instant)>();
        let mut stream = watcher(env.pods(), watcher::Config::default())
            .applied_objects()
            .boxed();
        let watch = tokio::spawn(async move {
            while let Some(Ok(p)) = stream.next().await {
                let running = p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                let name: String = p.metadata.name.clone().unwrap_or_default();
                if running {
                    let _ = tx.send((name, tokio::time::Instant::now()));
                } else if p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some() {
                    let _ = tx.send((format!("bound/{name}"), tokio::time::Instant::now()));
                }
            }
        });
        let t0 = tokio::time::Instant::now();
        let creates = (0..n).map(|i| {
            let env = &env;
            async move {
                let name = format!("p{i}");
                let at = tokio::time::Instant::now();
                env.create(json!({"metadata": {"name": name}, "spec": {"containers": [{
                    "name": "c", "image": "shell", "args": ["exec sleep 3600"]
                }]}}))
                .await;
                (name, at)
            }
        });
        let created: HashMap<String, tokio::time::Instant> =
            futures_util::future::join_all(creates)
                .await
                .into_iter()
                .collect();
        let created_in = t0.elapsed();
        let mut running: HashMap<String, tokio::time::Instant> = HashMap::new();
        let mut bound: HashMap<String, tokio::time::Instant> = HashMap::new();
        while running.len() < n {
            let (name, at) = tokio::time::timeout(Duration::from_secs(120), rx.recv())
                .await
                .expect("pods became running")
                .expect("watch");
            match name.strip_prefix("bound/") {
                Some(n) => {
                    bound.entry(n.to_string()).or_insert(at);
                }
                None => {
                    running.entry(name).or_insert(at);
                }
            }
        }
        let mut bind_lat: Vec<u128> = bound
            .iter()
            .map(|(name, at)| at.saturating_duration_since(created[name]).as_millis())
            .collect();
        bind_lat.sort();
        if !bind_lat.is_empty() {
            println!(
                "creation→bound p50 {} ms, max {} ms",
                bind_lat[bind_lat.len() / 2],
                bind_lat[bind_lat.len() - 1]
            );
        }
        let mut lat: Vec<u128> = running
            .iter()
            .map(|(name, at)| at.saturating_duration_since(created[name]).as_millis())
            .collect();
        lat.sort();
        let pct = |p: usize| lat[((lat.len() * p).div_ceil(100)).saturating_sub(1)];
        println!(
            "{n} pods created concurrently in {created_in:?}; all running after {:?}; \
             creation→running p50 {} ms, p99 {} ms, max {} ms",
            t0.elapsed(),
            pct(50),
            pct(99),
            lat[lat.len() - 1]
        );
        watch.abort();
        let _: Option<Pod> = None;
        env.shutdown().await;
    })
    .await;
}
