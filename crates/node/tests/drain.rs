//! Deletion drains endpoints first: a deleted pod that was Ready keeps
//! running untouched for the endpoint drain window, then gets preStop and
//! SIGTERM; pods that were not Ready, and short grace periods, do not wait
//! longer than they must.

mod support;

use std::path::Path;
use std::time::Duration;

use kube::api::DeleteParams;
use serde_json::json;
use support::*;

/// Wall-clock nanoseconds, the clock the container's `date +%s%N` reads.
fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A `shell` container that records when its preStop hook runs and when it
/// gets SIGTERM (nanoseconds since the epoch) in `dir`.
fn recorder(name: &str, dir: &Path, readiness: serde_json::Value) -> serde_json::Value {
    let d = dir.display();
    let mut c = json!({
        "name": "c", "image": "shell",
        "args": [format!("trap 'date +%s%N > {d}/{name}.term; exit 0' TERM; while true; do sleep 0.05; done")],
        "lifecycle": {"preStop": {"exec": {"command": ["sh", "-c", format!("date +%s%N > {d}/{name}.prestop")]}}}
    });
    if !readiness.is_null() {
        c["readinessProbe"] = readiness;
    }
    json!({"metadata": {"name": name}, "spec": {"terminationGracePeriodSeconds": 10, "containers": [c]}})
}

/// What a deletion looked like from outside.
struct Timeline {
    /// From the delete request to preStop, if it ran.
    prestop: Option<Duration>,
    /// From the delete request to SIGTERM.
    term: Duration,
    /// The API showed the pod not Ready before its SIGTERM.
    unready_before_term: bool,
}

/// Delete `name` with `grace` and watch until its SIGTERM is recorded.
async fn delete_and_time(env: &Env, name: &str, grace: Option<u32>) -> Timeline {
    let dir = env.dir.path();
    let sent = now_ns();
    env.pods()
        .delete(
            name,
            &DeleteParams {
                grace_period_seconds: grace,
                ..Default::default()
            },
        )
        .await
        .expect("delete");
    let term_file = dir.join(format!("{name}.term"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let read = |p: &Path| -> Option<u128> { std::fs::read_to_string(p).ok()?.trim().parse().ok() };
    let mut unready_before_term = false;
    let term = loop {
        if let Some(t) = read(&term_file) {
            break t;
        }
        let unready = env
            .pods()
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .is_some_and(|p| !ready(&p));
        // Only if SIGTERM had not come yet when the pod was read.
        unready_before_term |= unready && read(&term_file).is_none();
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: no SIGTERM recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let since = |t: u128| Duration::from_nanos(t.saturating_sub(sent) as u64);
    Timeline {
        prestop: read(&dir.join(format!("{name}.prestop"))).map(since),
        term: since(term),
        unready_before_term,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ready_pod_gets_sigterm_only_after_the_drain_window() {
    bounded(90, async {
        let drain = Duration::from_millis(800);
        // Host mounts: the records go to this test's dir, not a private /tmp.
        let env = start_opts(node::Options {
            network: node::NetworkMode::Loopback,
            mounts: node::MountMode::Host,
            endpoint_drain: drain,
        })
        .await;
        env.create(recorder("ready", env.dir.path(), json!(null)))
            .await;
        env.wait_pod("ready", "Ready", ready).await;

        let t = delete_and_time(&env, "ready", None).await;
        let (prestop, term) = (t.prestop.expect("preStop ran"), t.term);
        // Deletion seen, then the window, then preStop, then SIGTERM.
        assert!(
            prestop >= drain,
            "preStop after {prestop:?}, before the {drain:?} window ended"
        );
        assert!(
            term >= prestop,
            "SIGTERM ({term:?}) before preStop ({prestop:?})"
        );
        // The window is all it waits: not the grace period.
        assert!(term < Duration::from_secs(5), "SIGTERM only after {term:?}");
        // Not ready while it drains: routers and EndpointSlices see it go.
        assert!(t.unready_before_term, "Ready until SIGTERM");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unready_pods_and_short_grace_periods_do_not_wait_the_window() {
    bounded(90, async {
        let drain = Duration::from_secs(3);
        // Host mounts: the records go to this test's dir, not a private /tmp.
        let env = start_opts(node::Options {
            network: node::NetworkMode::Loopback,
            mounts: node::MountMode::Host,
            endpoint_drain: drain,
        })
        .await;
        // Never Ready: no endpoint to drain.
        let never = json!({"exec": {"command": ["false"]}, "periodSeconds": 1});
        env.create(recorder("unready", env.dir.path(), never)).await;
        env.create(recorder("short", env.dir.path(), json!(null)))
            .await;
        env.wait_pod("unready", "Running", |p| {
            container_status(p, "c").is_some_and(|c| c.state.is_some_and(|s| s.running.is_some()))
        })
        .await;
        env.wait_pod("short", "Ready", ready).await;

        let term = delete_and_time(&env, "unready", None).await.term;
        assert!(term < drain, "an unready pod waited {term:?} for SIGTERM");

        // The window never outlasts the grace period the deletion grants:
        // 1 s here, of which preStop and SIGTERM keep what is left.
        let t = delete_and_time(&env, "short", Some(1)).await;
        let (prestop, term) = (t.prestop.expect("preStop ran"), t.term);
        assert!(
            prestop >= Duration::from_millis(900),
            "preStop after only {prestop:?}"
        );
        assert!(
            term < drain,
            "SIGTERM only after {term:?}, past the 1 s grace"
        );
        env.shutdown().await;
    })
    .await;
}
