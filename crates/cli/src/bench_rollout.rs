//! `slipway bench rollout`: wall time of RollingUpdate rollouts against the
//! minimum that pod readiness alone allows, and the controller's reaction
//! latency (a pod becomes Ready → the next ReplicaSet scale is written),
//! against a fresh slipway (this binary) started in a temp dir.
//!
//! All times are local receive times of watch events (the API's timestamps
//! have whole-second resolution).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::{json, Value};

use crate::bench::{self, percentile};
use crate::bench_pods::{loadavg, lock, spawn_watch, stop, wait_node, watch_pods, PodMap};

#[derive(clap::Args)]
pub struct RolloutBench {
    /// Replica counts, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10,50")]
    replicas: Vec<i32>,
    /// DEMO_START_DELAY_MS of the demo pods: how long after start they listen.
    #[arg(long, default_value_t = 300)]
    ready_delay_ms: u64,
    /// Readiness probe: `http` (httpGet /readyz every 1 s, the Kubernetes way),
    /// `tcp` (tcpSocket every 1 s) or `exec-poll` (an exec probe that polls the
    /// port every 10 ms within one probe, so readiness tracks the delay rather
    /// than the 1 s probe period).
    #[arg(long, default_value = "http")]
    probe: String,
}

/// maxSurge / maxUnavailable settings measured, as the API takes them.
const STRATEGIES: [(&str, &str); 4] = [("25%", "25%"), ("1", "0"), ("100%", "0"), ("0", "1")];

fn int_or_percent(v: &str) -> Value {
    match v.parse::<i64>() {
        Ok(n) => json!(n),
        Err(_) => json!(v),
    }
}

/// Resolve like upstream: surge rounds up, unavailable rounds down, and
/// both zero means one may be unavailable.
fn resolve(surge: &str, unav: &str, replicas: i32) -> (i32, i32) {
    let one = |v: &str, up: bool| -> i32 {
        match v.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => {
                let x = p * replicas as i64;
                (if up { (x + 99) / 100 } else { x / 100 }) as i32
            }
            None => v.parse().unwrap_or(0),
        }
    };
    let (s, u) = (one(surge, true), one(unav, false));
    if s == 0 && u == 0 {
        (0, 1)
    } else {
        (s, u)
    }
}

fn probe(kind: &str, port: u16) -> Result<Value> {
    Ok(match kind {
        "http" => json!({
            "httpGet": {"path": "/readyz", "port": port},
            "initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 1
        }),
        "tcp" => json!({
            "tcpSocket": {"port": port},
            "initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 1
        }),
        "exec-poll" => json!({
            "exec": {"command": ["bash", "-c", format!(
                "for i in $(seq 400); do (exec 3<>/dev/tcp/$POD_IP/{port}) 2>/dev/null && exit 0; sleep 0.01; done; exit 1"
            )]},
            "initialDelaySeconds": 0, "periodSeconds": 1, "timeoutSeconds": 10
        }),
        other => bail!("--probe must be http, tcp or exec-poll, not {other}"),
    })
}

fn template(name: &str, tag: &str, delay_ms: u64, probe: &Value) -> Value {
    json!({
        "metadata": {"labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 5,
            "containers": [{
                "name": "demo",
                "image": format!("slipway/demo:{tag}"),
                "ports": [{"containerPort": 8080}],
                "env": [{"name": "DEMO_START_DELAY_MS", "value": delay_ms.to_string()}],
                "readinessProbe": probe
            }]
        }
    })
}

/// Complete as `kubectl rollout status` sees it, and no old pods counted.
fn complete(d: &Deployment, generation: i64) -> bool {
    let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let Some(s) = &d.status else { return false };
    s.observed_generation.unwrap_or(0) >= generation
        && s.updated_replicas.unwrap_or(0) == want
        && s.available_replicas.unwrap_or(0) == want
        && s.replicas.unwrap_or(0) == want
}

/// A ReplicaSet's spec.replicas as the watch first saw each value.
struct RsChange {
    at: Instant,
}

struct Run {
    replicas: i32,
    setting: String,
    surge: i32,
    unav: i32,
    v1_ready_p50: Duration,
    v2_ready_p50: Duration,
    wall: Duration,
    old_gone: Option<Duration>,
    reactions: Vec<Duration>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ready_p50(map: &PodMap, tag: &str) -> Duration {
    let m = lock(map);
    let mut v: Vec<Duration> = m
        .values()
        .filter(|o| o.image.ends_with(tag))
        .filter_map(|o| Some(o.ready?.saturating_duration_since(o.first_seen?)))
        .collect();
    v.sort();
    percentile(&v, 0.5)
}

async fn one_run(
    c: &kube::Client,
    name: &str,
    replicas: i32,
    (surge_s, unav_s): (&str, &str),
    delay_ms: u64,
    probe: &Value,
) -> Result<Run> {
    let deps: Api<Deployment> = Api::namespaced(c.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(c.clone(), "default");
    let sel = format!("app={name}");

    let (map, pw) = watch_pods(pods.clone(), &sel);
    let changes: Arc<Mutex<Vec<RsChange>>> = Arc::default();
    let last: Arc<Mutex<std::collections::HashMap<String, i32>>> = Arc::default();
    let ch = changes.clone();
    let rw = spawn_watch(
        rss.clone(),
        watcher::Config::default().labels(&sel),
        move |now, rs: &ReplicaSet, deleted| {
            if deleted {
                return;
            }
            let n = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let key = rs.metadata.name.clone().unwrap_or_default();
            let prev = lock(&last).insert(key, n);
            if prev != Some(n) {
                lock(&ch).push(RsChange { at: now });
            }
        },
    );
    let history: Arc<Mutex<Vec<(Instant, Deployment)>>> = Arc::default();
    let h = history.clone();
    let dw = spawn_watch(
        deps.clone(),
        watcher::Config::default().fields(&format!("metadata.name={name}")),
        move |now, d: &Deployment, _| lock(&h).push((now, d.clone())),
    );
    pw.synced().await?;
    rw.synced().await?;
    dw.synced().await?;

    let dep: Deployment = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {
                "maxSurge": int_or_percent(surge_s),
                "maxUnavailable": int_or_percent(unav_s)
            }},
            "template": template(name, "v1", delay_ms, probe)
        }
    }))?;
    let t_create = Instant::now();
    deps.create(&PostParams::default(), &dep).await?;
    let first_complete = |since: Instant, generation: i64| {
        lock(&history)
            .iter()
            .find(|(at, d)| *at >= since && complete(d, generation))
            .map(|(at, _)| *at)
    };
    let limit = Duration::from_secs(60 + 4 * replicas as u64);
    if !dw
        .until(limit, || first_complete(t_create, 1).is_some())
        .await
    {
        bail!("{name}: v1 not complete within {limit:?}");
    }
    let v1_ready_p50 = ready_p50(&map, ":v1");

    // The rollout: a new pod template.
    let patch = json!({"spec": {"template": template(name, "v2", delay_ms, probe)}});
    let t_patch = Instant::now();
    let patched = deps
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    let generation = patched.metadata.generation.unwrap_or(2);
    let done = dw
        .until(limit, || first_complete(t_patch, generation).is_some())
        .await;
    let Some(t_done) = first_complete(t_patch, generation) else {
        bail!("{name}: v2 rollout not complete within {limit:?} (done={done})");
    };
    let old_left = || {
        lock(&map)
            .values()
            .any(|o| o.image.ends_with(":v1") && o.deleted.is_none())
    };
    let old_gone = if pw.until(Duration::from_secs(60), || !old_left()).await {
        lock(&map)
            .values()
            .filter(|o| o.image.ends_with(":v1"))
            .filter_map(|o| o.deleted)
            .max()
            .map(|t| t.saturating_duration_since(t_patch))
    } else {
        None
    };
    let v2_ready_p50 = ready_p50(&map, ":v2");

    // Reaction: each ReplicaSet scale during the rollout that followed a pod
    // becoming Ready since the previous scale, measured from the latest such
    // Ready.
    let mut reactions = Vec::new();
    {
        let readies: Vec<Instant> = lock(&map)
            .values()
            .filter_map(|o| o.ready)
            .filter(|r| *r >= t_patch && *r <= t_done)
            .collect();
        let ch = lock(&changes);
        let mut prev = t_patch;
        for c in ch.iter().filter(|c| c.at > t_patch && c.at <= t_done) {
            if let Some(r) = readies.iter().filter(|r| **r > prev && **r <= c.at).max() {
                reactions.push(c.at.saturating_duration_since(*r));
            }
            prev = c.at;
        }
    }

    // Clean up: delete and wait for every pod to go.
    deps.delete(name, &DeleteParams::background()).await?;
    let t = Instant::now();
    loop {
        let left = pods
            .list(&ListParams::default().labels(&sel))
            .await?
            .items
            .len();
        if left == 0 {
            break;
        }
        if t.elapsed() > Duration::from_secs(120) {
            bail!("{name}: {left} pods still present 120 s after deleting the Deployment");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((pw, rw, dw));
    let (surge, unav) = resolve(surge_s, unav_s, replicas);
    Ok(Run {
        replicas,
        setting: format!("{surge_s}/{unav_s}"),
        surge,
        unav,
        v1_ready_p50,
        v2_ready_p50,
        wall: t_done.saturating_duration_since(t_patch),
        old_gone,
        reactions,
    })
}

pub async fn rollout(args: RolloutBench) -> Result<()> {
    let probe = probe(&args.probe, 8080)?;
    let (server, _) = bench::start().await?;
    let c = bench::client(&server.kubeconfig).await.context("client")?;
    wait_node(&c).await?;
    println!(
        "machine: {} cores; load {}; readiness probe: {}; DEMO_START_DELAY_MS={}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        loadavg(),
        args.probe,
        args.ready_delay_ms
    );
    println!("waves = ceil(replicas / (maxSurge + maxUnavailable)); theo v1 = waves x p50(pod first seen -> Ready) of the run's v1 pods (all created at once);");
    println!("theo v2 = waves x the same p50 of the rollout's own v2 pods (started at the rollout's concurrency), so wall/theo v2 is the controllers' overhead");
    println!();
    println!(
        "{:>8}  {:<10} {:>5} {:>5} {:>5}  {:>8} {:>8}  {:>8} {:>6}  {:>8} {:>6}  {:>8}  {:>8}  {:>5} {:>8}",
        "replicas",
        "surge/unav",
        "surge",
        "unav",
        "waves",
        "ready v1",
        "ready v2",
        "theo v1",
        "ratio",
        "theo v2",
        "ratio",
        "wall",
        "old gone",
        "react",
        "react p50"
    );
    let mut all_reactions = Vec::new();
    let mut k = 0;
    for &r in &args.replicas {
        for (surge, unav) in STRATEGIES {
            k += 1;
            let name = format!("roll-{r}-{k}");
            let run = one_run(&c, &name, r, (surge, unav), args.ready_delay_ms, &probe)
                .await
                .with_context(|| format!("run {name}"))?;
            let step = (run.surge + run.unav).max(1);
            let waves = (run.replicas + step - 1) / step;
            let theo1 = run.v1_ready_p50 * waves as u32;
            let theo2 = run.v2_ready_p50 * waves as u32;
            let ratio = |t: Duration| run.wall.as_secs_f64() / t.as_secs_f64().max(1e-9);
            let mut re = run.reactions.clone();
            re.sort();
            println!(
                "{:>8}  {:<10} {:>5} {:>5} {:>5}  {:>6.0}ms {:>6.0}ms  {:>6.2} s {:>6.2}  {:>6.2} s {:>6.2}  {:>6.2} s  {:>6} s  {:>5} {:>6.1}ms",
                run.replicas,
                run.setting,
                run.surge,
                run.unav,
                waves,
                ms(run.v1_ready_p50),
                ms(run.v2_ready_p50),
                theo1.as_secs_f64(),
                ratio(theo1),
                theo2.as_secs_f64(),
                ratio(theo2),
                run.wall.as_secs_f64(),
                run.old_gone
                    .map(|d| format!("{:.2}", d.as_secs_f64()))
                    .unwrap_or_else(|| "-".into()),
                re.len(),
                ms(percentile(&re, 0.5)),
            );
            all_reactions.extend(run.reactions);
        }
    }
    all_reactions.sort();
    println!();
    println!(
        "controller reaction (pod Ready seen -> next ReplicaSet spec.replicas change seen), all runs: n={} p50={:.1} ms p99={:.1} ms max={:.1} ms",
        all_reactions.len(),
        ms(percentile(&all_reactions, 0.5)),
        ms(percentile(&all_reactions, 0.99)),
        ms(all_reactions.last().copied().unwrap_or_default()),
    );
    println!("load {}", loadavg());
    let took = stop(server).await?;
    println!("slipway stopped (SIGTERM) in {:.2} s", took.as_secs_f64());
    Ok(())
}
