//! Issue 4's seed scenarios through the real kubectl: Recreate and ramped
//! rollouts (seed 003), rolling update with history and undo (seed 001,
//! chapter 9), self-healing (seed 000) and a rollout that misses its
//! progress deadline.

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use test_support::{wait_for, Slipway};

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

const READINESS: &str = "        readinessProbe:\n          httpGet: {path: /readyz, port: 80}\n          periodSeconds: 1\n";

/// An apps/v1 Deployment of `slipway/demo:<tag>` with a quick readiness probe.
/// `spec_extra` goes under `spec:` (strategy, deadlines), `env` is a flow list.
fn deploy_yaml(name: &str, replicas: u32, tag: &str, spec_extra: &str, env: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
{spec_extra}  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: {name}
        image: slipway/demo:{tag}
        ports:
        - containerPort: 80
        env: [{env}]
{READINESS}"#
    )
}

fn pods(s: &Slipway, app: &str) -> Vec<Value> {
    s.get_json(&["pods", "-l", &format!("app={app}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn terminating(p: &Value) -> bool {
    !p["metadata"]["deletionTimestamp"].is_null()
}

fn image(p: &Value) -> &str {
    p["spec"]["containers"][0]["image"].as_str().unwrap_or("")
}

fn name(v: &Value) -> String {
    v["metadata"]["name"].as_str().unwrap_or("").to_string()
}

/// Wait until exactly `n` live pods of `app` run `img` and are all Ready.
fn wait_ready(s: &Slipway, app: &str, n: usize, img: &str) -> Vec<Value> {
    wait_for(
        &format!("{n} ready {app} pods of {img}"),
        Duration::from_secs(60),
        || {
            let ps = pods(s, app);
            (ps.len() == n && ps.iter().all(|p| ready(p) && image(p) == img)).then_some(ps)
        },
    )
}

fn rollout_status(s: &Slipway, deploy: &str) -> String {
    s.ok(&[
        "rollout",
        "status",
        &format!("deployment/{deploy}"),
        "--timeout=60s",
    ])
}

/// ReplicaSets of `app` with their spec.replicas.
fn replicasets(s: &Slipway, app: &str) -> Vec<(String, i64)> {
    s.get_json(&["rs", "-l", &format!("app={app}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|rs| (name(rs), rs["spec"]["replicas"].as_i64().unwrap_or(0)))
        .collect()
}

fn active_replicasets(s: &Slipway, app: &str) -> Vec<(String, i64)> {
    replicasets(s, app)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// A `kubectl edit` whose EDITOR is the shell script `script` ($1 is the file).
fn edit_with(s: &Slipway, what: &[&str], script: &str) -> String {
    let editor = s.dir.path().join("edit.sh");
    std::fs::write(&editor, format!("#!/bin/sh\n{script}\n")).expect("write editor");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .expect("chmod");
    let mut cmd = s.kubectl_cmd();
    cmd.arg("edit").args(what).env("EDITOR", &editor);
    let out = test_support::run(cmd, None, Duration::from_secs(60)).expect("edit");
    assert!(
        out.status.success(),
        "kubectl edit failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl get pods -w --output-watch-events -o json` in the background,
/// keeping the latest state of every pod and checking `check` after every
/// event. Violations are collected for the test to assert on.
struct PodWatch {
    child: std::process::Child,
    reader: Option<std::thread::JoinHandle<()>>,
    events: Arc<Mutex<usize>>,
    violations: Arc<Mutex<Vec<String>>>,
}

impl PodWatch {
    fn start(
        s: &Slipway,
        app: &str,
        check: impl Fn(&BTreeMap<String, Value>) -> Option<String> + Send + 'static,
    ) -> PodWatch {
        let mut cmd = s.kubectl_cmd();
        cmd.args([
            "get",
            "pods",
            "-l",
            &format!("app={app}"),
            "-w",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("kubectl get -w");
        let stdout = child.stdout.take().expect("stdout");
        let events = Arc::new(Mutex::new(0usize));
        let violations = Arc::new(Mutex::new(Vec::new()));
        let (ev, vio) = (events.clone(), violations.clone());
        let reader = std::thread::spawn(move || {
            let mut state: BTreeMap<String, Value> = BTreeMap::new();
            let stream =
                serde_json::Deserializer::from_reader(BufReader::new(stdout)).into_iter::<Value>();
            for e in stream.flatten() {
                let obj = &e["object"];
                let n = name(obj);
                if e["type"] == "DELETED" {
                    state.remove(&n);
                } else {
                    state.insert(n, obj.clone());
                }
                if let Some(v) = check(&state) {
                    if let Ok(mut g) = vio.lock() {
                        g.push(v);
                    }
                }
                if let Ok(mut g) = ev.lock() {
                    *g += 1;
                }
            }
        });
        PodWatch {
            child,
            reader: Some(reader),
            events,
            violations,
        }
    }

    fn events(&self) -> usize {
        self.events.lock().map(|g| *g).unwrap_or(0)
    }

    /// Stop the watch and return the violations it saw.
    fn finish(mut self) -> Vec<String> {
        self.stop();
        self.violations
            .lock()
            .map(|g| g.clone())
            .unwrap_or_default()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for PodWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Seed 003 §2: `kubectl edit` the strategy to Recreate, `kubectl set image`:
/// every old pod is gone before any new one exists.
#[test]
fn seed_003_recreate_replaces_all_pods_at_once() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deploy_yaml("act-httpd", 3, "v1", "", ""),
    );
    wait_ready(&s, "act-httpd", 3, "slipway/demo:v1");
    rollout_status(&s, "act-httpd");

    // The defaulted RollingUpdate block goes, the type becomes Recreate.
    let out = edit_with(
        &s,
        &["deployment/act-httpd"],
        "sed -i -e '/^    rollingUpdate:/,+2d' -e 's/^    type: RollingUpdate/    type: Recreate/' \"$1\"",
    );
    assert_eq!(out.trim(), "deployment.apps/act-httpd edited");
    let d = s.get_json(&["deployment", "act-httpd"]);
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate", "{d}");

    // A pod counts as "old and running" until it is gone or terminal, as in
    // the upstream Recreate strategy.
    let watch = PodWatch::start(&s, "act-httpd", |pods| {
        let new: Vec<&String> = pods
            .iter()
            .filter(|(_, p)| image(p) == "slipway/demo:v2")
            .map(|(n, _)| n)
            .collect();
        let old_running: Vec<&String> = pods
            .iter()
            .filter(|(_, p)| {
                image(p) != "slipway/demo:v2"
                    && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
            })
            .map(|(n, _)| n)
            .collect();
        (!new.is_empty() && !old_running.is_empty())
            .then(|| format!("new {new:?} while old {old_running:?} still exist"))
    });
    wait_for("watch lists the 3 pods", Duration::from_secs(20), || {
        (watch.events() >= 3).then_some(())
    });

    let out = s.ok(&[
        "set",
        "image",
        "deployment/act-httpd",
        "act-httpd=slipway/demo:v2",
    ]);
    assert_eq!(out.trim(), "deployment.apps/act-httpd image updated");
    let status = rollout_status(&s, "act-httpd");
    assert!(
        status.contains("deployment \"act-httpd\" successfully rolled out"),
        "{status}"
    );
    wait_ready(&s, "act-httpd", 3, "slipway/demo:v2");
    let seen = watch.events();
    let violations = watch.finish();
    assert!(seen > 3, "the watch saw the rollout ({seen} events)");
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(active_replicasets(&s, "act-httpd").len(), 1);
}

/// Seed 003 §3: ramped (maxSurge 2, maxUnavailable 0): the pod count grows
/// to at most replicas + 2, never drops below 3 ready, and converges to 3.
// Ignored for the same node-agent IP reuse problem as the chapter 9 test:
// the last new pod usually gets the address an old pod just released.
#[test]
fn seed_003_ramped_grows_then_converges() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deploy_yaml("act-httpd", 3, "v1", "", ""),
    );
    wait_ready(&s, "act-httpd", 3, "slipway/demo:v1");
    rollout_status(&s, "act-httpd");

    let out = edit_with(
        &s,
        &["deployment/act-httpd"],
        "sed -i -e 's/maxSurge: 25%/maxSurge: 2/' -e 's/maxUnavailable: 25%/maxUnavailable: 0/' \"$1\"",
    );
    assert_eq!(out.trim(), "deployment.apps/act-httpd edited");
    let d = s.get_json(&["deployment", "act-httpd"]);
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], 2, "{d}");
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0,
        "{d}"
    );

    s.ok(&[
        "set",
        "image",
        "deployment/act-httpd",
        "act-httpd=slipway/demo:v2",
    ]);
    let mut max_live = 0;
    let mut observations = 0;
    wait_for("ramped rollout converges", Duration::from_secs(60), || {
        let ps = pods(&s, "act-httpd");
        // Terminating pods are no longer counted by the ReplicaSets, as upstream.
        let live: Vec<&Value> = ps.iter().filter(|p| !terminating(p)).collect();
        let ready_n = live.iter().filter(|p| ready(p)).count();
        observations += 1;
        assert!(
            live.len() <= 5,
            "more than replicas + maxSurge: {}",
            live.len()
        );
        assert!(
            ready_n >= 3,
            "fewer than 3 ready during the rollout: {ready_n}\n{:#?}",
            ps.iter()
                .map(|p| (
                    name(p),
                    image(p),
                    ready(p),
                    terminating(p),
                    p["status"]["conditions"].clone()
                ))
                .collect::<Vec<_>>()
        );
        max_live = max_live.max(live.len());
        (ps.len() == 3 && ps.iter().all(|p| ready(p) && image(p) == "slipway/demo:v2"))
            .then_some(())
    });
    assert!(
        max_live > 3,
        "the pod count never grew ({observations} observations)"
    );
    let status = rollout_status(&s, "act-httpd");
    assert!(status.contains("successfully rolled out"), "{status}");
    let active = active_replicasets(&s, "act-httpd");
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0].1, 3);
}

/// Seed 001, chapter 9: rolling update, change causes in history, undo to a
/// revision, pause/resume and restart.
#[test]
fn seed_001_rolling_update_history_undo_pause_restart() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deploy_yaml("kubia", 3, "v1", "", ""),
    );
    s.ok(&[
        "annotate",
        "deployment/kubia",
        "kubernetes.io/change-cause=create kubia v1",
    ]);
    wait_ready(&s, "kubia", 3, "slipway/demo:v1");
    rollout_status(&s, "kubia");

    s.ok(&["set", "image", "deployment/kubia", "kubia=slipway/demo:v2"]);
    s.ok(&[
        "annotate",
        "deployment/kubia",
        "kubernetes.io/change-cause=kubectl set image deployment/kubia kubia=slipway/demo:v2",
        "--overwrite",
    ]);
    let status = rollout_status(&s, "kubia");
    assert!(
        status.contains("Waiting for deployment \"kubia\" rollout to finish:"),
        "{status}"
    );
    assert!(
        status
            .trim_end()
            .ends_with("deployment \"kubia\" successfully rolled out"),
        "{status}"
    );
    wait_ready(&s, "kubia", 3, "slipway/demo:v2");

    // `kubectl describe deployment` as on a cluster once the rollout settled.
    let new_rs = active_replicasets(&s, "kubia");
    assert_eq!(new_rs.len(), 1, "{new_rs:?}");
    let described = wait_for(
        "describe shows the settled rollout",
        Duration::from_secs(30),
        || {
            let out = s.ok(&["describe", "deployment", "kubia"]);
            out.contains("3 desired | 3 updated | 3 total | 3 available | 0 unavailable")
                .then_some(out)
        },
    );
    for want in [
        "StrategyType:           RollingUpdate",
        "RollingUpdateStrategy:  25% max unavailable, 25% max surge",
        "Available      True    MinimumReplicasAvailable",
        "Progressing    True    NewReplicaSetAvailable",
        &format!("NewReplicaSet:   {} (3/3 replicas created)", new_rs[0].0),
        "Scaled up replica set",
    ] {
        assert!(
            described.contains(want),
            "missing {want:?} in:\n{described}"
        );
    }
    assert!(
        described
            .lines()
            .any(|l| l.starts_with("OldReplicaSets:") && l.contains("(0/0 replicas created)")),
        "{described}"
    );

    // `kubectl scale` of a settled Deployment scales its one ReplicaSet.
    s.ok(&["scale", "deployment/kubia", "--replicas=4"]);
    wait_ready(&s, "kubia", 4, "slipway/demo:v2");
    s.ok(&["scale", "deployment/kubia", "--replicas=3"]);
    wait_ready(&s, "kubia", 3, "slipway/demo:v2");
    assert_eq!(
        active_replicasets(&s, "kubia"),
        vec![(new_rs[0].0.clone(), 3)]
    );

    let history = s.ok(&["rollout", "history", "deployment/kubia"]);
    assert!(history.starts_with("deployment.apps/kubia"), "{history}");
    assert!(history.contains("REVISION  CHANGE-CAUSE"), "{history}");
    assert!(history.contains("1         create kubia v1"), "{history}");
    assert!(
        history.contains("2         kubectl set image deployment/kubia kubia=slipway/demo:v2"),
        "{history}"
    );
    let rev1 = s.ok(&["rollout", "history", "deployment/kubia", "--revision=1"]);
    assert!(rev1.contains("slipway/demo:v1"), "{rev1}");

    // Undo to revision 1: its template comes back as revision 3.
    let out = s.ok(&["rollout", "undo", "deployment/kubia", "--to-revision=1"]);
    assert_eq!(out.trim(), "deployment.apps/kubia rolled back");
    rollout_status(&s, "kubia");
    wait_ready(&s, "kubia", 3, "slipway/demo:v1");
    let d = s.get_json(&["deployment", "kubia"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "slipway/demo:v1"
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"], "3",
        "{}",
        d["metadata"]
    );
    let history = s.ok(&["rollout", "history", "deployment/kubia"]);
    let revisions: Vec<&str> = history
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");

    // Paused: a template change creates no ReplicaSet until resumed.
    let out = s.ok(&["rollout", "pause", "deployment/kubia"]);
    assert_eq!(out.trim(), "deployment.apps/kubia paused");
    let before = replicasets(&s, "kubia").len();
    s.ok(&["set", "image", "deployment/kubia", "kubia=slipway/demo:v3"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(replicasets(&s, "kubia").len(), before);
    assert!(pods(&s, "kubia")
        .iter()
        .all(|p| image(p) == "slipway/demo:v1"));
    let out = s.ok(&["rollout", "resume", "deployment/kubia"]);
    assert_eq!(out.trim(), "deployment.apps/kubia resumed");
    rollout_status(&s, "kubia");
    wait_ready(&s, "kubia", 3, "slipway/demo:v3");

    // Restart: a new revision whose pods carry the restartedAt annotation.
    let old: Vec<String> = pods(&s, "kubia").iter().map(name).collect();
    let out = s.ok(&["rollout", "restart", "deployment/kubia"]);
    assert_eq!(out.trim(), "deployment.apps/kubia restarted");
    rollout_status(&s, "kubia");
    let ps = wait_for("restarted pods", Duration::from_secs(60), || {
        let ps = pods(&s, "kubia");
        (ps.len() == 3
            && ps
                .iter()
                .all(|p| ready(p) && !old.contains(&name(p)) && !terminating(p)))
        .then_some(ps)
    });
    for p in &ps {
        assert!(
            p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string(),
            "{}",
            p["metadata"]
        );
    }
    let d = s.get_json(&["deployment", "kubia"]);
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "5"
    );
    assert_eq!(active_replicasets(&s, "kubia").len(), 1);
}

/// Seed 000: a Deployment heals back to its replica count when a pod dies.
#[test]
fn seed_000_deployment_self_heals() {
    let s = server();
    s.ok_stdin(&["apply", "-f", "-"], &deploy_yaml("heal", 3, "v1", "", ""));
    let ps = wait_ready(&s, "heal", 3, "slipway/demo:v1");
    let victim = name(&ps[0]);
    s.ok(&["delete", "pod", &victim]);
    let ps = wait_ready(&s, "heal", 3, "slipway/demo:v1");
    assert!(ps.iter().all(|p| name(p) != victim));
    let d = s.get_json(&["deployment", "heal"]);
    assert_eq!(d["status"]["readyReplicas"], 3, "{}", d["status"]);
    assert_eq!(active_replicasets(&s, "heal").len(), 1);
}

/// A version that never becomes ready stalls without taking the old pods
/// down, `rollout status` reports the missed deadline, `rollout undo` heals.
#[test]
fn stalled_rollout_exceeds_progress_deadline_and_undo_recovers() {
    stalled_rollout("{name: DEMO_READY, value: \"false\"}", |p| {
        let st = &p["status"]["containerStatuses"][0];
        (st["state"]["running"].is_object() && st["ready"] == false && st["restartCount"] == 0)
            .then(|| st.to_string())
    });
}

/// A version that crash-loops (the demo app exits at once on a malformed
/// setting) stalls the same way.
#[test]
fn crash_looping_rollout_exceeds_progress_deadline_and_undo_recovers() {
    stalled_rollout(
        "{name: DEMO_START_DELAY_MS, value: \"not-a-number\"}",
        |p| {
            let st = &p["status"]["containerStatuses"][0];
            let restarts = st["restartCount"].as_i64().unwrap_or(0);
            let waiting = st["state"]["waiting"]["reason"].as_str().unwrap_or("");
            let exit = st["lastState"]["terminated"]["exitCode"].as_i64();
            (restarts >= 1 && waiting == "CrashLoopBackOff" && exit.is_some_and(|c| c != 0))
                .then(|| st.to_string())
        },
    );
}

/// Roll out v2 with `broken_env`; `new_pod_evidence` must hold (return
/// Some) for some new pod once the deadline passed.
fn stalled_rollout(broken_env: &str, new_pod_evidence: impl Fn(&Value) -> Option<String>) {
    let s = server();
    let spec = "  progressDeadlineSeconds: 10\n  strategy:\n    type: RollingUpdate\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n";
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deploy_yaml("web", 3, "v1", spec, ""),
    );
    let old = wait_ready(&s, "web", 3, "slipway/demo:v1");
    rollout_status(&s, "web");
    let old: Vec<String> = old.iter().map(name).collect();

    s.ok_stdin(
        &["apply", "-f", "-"],
        &deploy_yaml("web", 3, "v2", spec, broken_env),
    );
    let mut cmd = s.kubectl_cmd();
    cmd.args(["rollout", "status", "deployment/web", "--timeout=60s"]);
    let out = test_support::run(cmd, None, Duration::from_secs(70)).expect("rollout status");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "rollout status succeeded");
    assert!(
        stderr.contains("deployment \"web\" exceeded its progress deadline"),
        "{stderr}"
    );

    // The old pods stayed, all ready; one new pod is stuck unready.
    let ps = pods(&s, "web");
    let v1: Vec<String> = ps
        .iter()
        .filter(|p| image(p) == "slipway/demo:v1" && ready(p))
        .map(name)
        .collect();
    assert_eq!(v1.len(), 3, "{v1:?}");
    assert!(v1.iter().all(|n| old.contains(n)), "{v1:?} vs {old:?}");
    let new: Vec<&Value> = ps
        .iter()
        .filter(|p| image(p) == "slipway/demo:v2")
        .collect();
    assert_eq!(new.len(), 1, "maxSurge 1 allows one new pod");
    assert!(new.iter().all(|p| !ready(p)));
    let evidence = wait_for("new pod shows its failure", Duration::from_secs(30), || {
        pods(&s, "web")
            .iter()
            .filter(|p| image(p) == "slipway/demo:v2")
            .find_map(&new_pod_evidence)
    });
    eprintln!("new pod: {evidence}");
    let d = s.get_json(&["deployment", "web"]);
    let progressing = d["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing").cloned())
        .unwrap_or_default();
    assert_eq!(progressing["status"], "False", "{progressing}");
    assert_eq!(
        progressing["reason"], "ProgressDeadlineExceeded",
        "{progressing}"
    );

    let out = s.ok(&["rollout", "undo", "deployment/web"]);
    assert_eq!(out.trim(), "deployment.apps/web rolled back");
    let status = rollout_status(&s, "web");
    assert!(status.contains("successfully rolled out"), "{status}");
    wait_ready(&s, "web", 3, "slipway/demo:v1");
    assert_eq!(active_replicasets(&s, "web").len(), 1);
}

/// Issue 4 item 4: RollingUpdate rollouts of 1, 3, 4 and 10 replicas under
/// integer and percentage settings, all at once on one server. A pod watch
/// per Deployment checks every observed state once the rollout started from
/// a complete one: live pods ≤ replicas + maxSurge and available (ready, not
/// terminating) ≥ replicas − maxUnavailable; at the end the rollout is
/// complete with exactly one active ReplicaSet.
#[test]
fn rolling_update_bounds_hold_at_every_observed_moment() {
    // (name, replicas, maxSurge, maxUnavailable, resolved surge, resolved unavailable)
    // Upstream resolution: surge rounds up, unavailable rounds down.
    let cases: [(&str, u32, &str, &str, usize, usize); 7] = [
        ("r1", 1, "25%", "25%", 1, 0),
        ("r3a", 3, "1", "0", 1, 0),
        ("r3b", 3, "0", "1", 0, 1),
        ("r4", 4, "50%", "25%", 2, 1),
        ("r10a", 10, "25%", "25%", 3, 2),
        ("r10b", 10, "30%", "0", 3, 0),
        ("r10c", 10, "0", "20%", 0, 2),
    ];
    let s = server();
    let yaml = |name: &str, replicas: u32, surge: &str, unavail: &str, tag: &str| {
        let q = |v: &str| {
            if v.ends_with('%') {
                format!("\"{v}\"")
            } else {
                v.to_string()
            }
        };
        let spec = format!(
            "  strategy:\n    type: RollingUpdate\n    rollingUpdate: {{maxSurge: {}, maxUnavailable: {}}}\n",
            q(surge),
            q(unavail)
        );
        deploy_yaml(name, replicas, tag, &spec, "")
    };
    let all_v1: String = cases
        .iter()
        .map(|(n, r, su, un, _, _)| yaml(n, *r, su, un, "v1"))
        .collect::<Vec<_>>()
        .join("---\n");
    s.ok_stdin(&["apply", "-f", "-"], &all_v1);
    for (n, r, ..) in cases {
        wait_ready(&s, n, r as usize, "slipway/demo:v1");
        rollout_status(&s, n);
    }

    let watches: Vec<(&str, PodWatch)> = cases
        .iter()
        .map(|&(n, r, _, _, surge, unavail)| {
            let replicas = r as usize;
            // The watch starts by listing the pods one event at a time: check
            // from the first moment the complete v1 state has been seen.
            let armed = std::sync::atomic::AtomicBool::new(false);
            let w = PodWatch::start(&s, n, move |state| {
                let live: Vec<&Value> = state.values().filter(|p| !terminating(p)).collect();
                let available = live.iter().filter(|p| ready(p)).count();
                if !armed.load(std::sync::atomic::Ordering::Relaxed) {
                    if available < replicas {
                        return None;
                    }
                    armed.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let summary = || {
                    state
                        .values()
                        .map(|p| {
                            format!("{}:{}:{}:{}", name(p), image(p), ready(p), terminating(p))
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                if live.len() > replicas + surge {
                    return Some(format!(
                        "{} live pods > {replicas} + {surge}: {}",
                        live.len(),
                        summary()
                    ));
                }
                if available + unavail < replicas {
                    return Some(format!(
                        "{available} available < {replicas} - {unavail}: {}",
                        summary()
                    ));
                }
                None
            });
            (n, w)
        })
        .collect();
    // The watches first list the complete v1 state.
    for (n, w) in &watches {
        let r = cases.iter().find(|c| c.0 == *n).map(|c| c.1).unwrap_or(0) as usize;
        wait_for(
            &format!("{n} watch listed"),
            Duration::from_secs(30),
            || (w.events() >= r).then_some(()),
        );
    }

    let all_v2: String = cases
        .iter()
        .map(|(n, r, su, un, _, _)| yaml(n, *r, su, un, "v2"))
        .collect::<Vec<_>>()
        .join("---\n");
    s.ok_stdin(&["apply", "-f", "-"], &all_v2);
    for (n, r, ..) in cases {
        let status = s.ok(&[
            "rollout",
            "status",
            &format!("deployment/{n}"),
            "--timeout=120s",
        ]);
        assert!(status.contains("successfully rolled out"), "{n}: {status}");
        wait_ready(&s, n, r as usize, "slipway/demo:v2");
        let active = active_replicasets(&s, n);
        assert_eq!(active.len(), 1, "{n}: {active:?}");
        assert_eq!(active[0].1, i64::from(r), "{n}: {active:?}");
    }
    for (n, w) in watches {
        // Listing r pods, then for every replaced pod at least: old marked
        // terminating and deleted, new added, running, ready.
        let r = cases.iter().find(|c| c.0 == n).map(|c| c.1).unwrap_or(0) as usize;
        wait_for(
            &format!("{n} watch saw the rollout"),
            Duration::from_secs(30),
            || (w.events() >= 4 * r).then_some(()),
        );
        let violations = w.finish();
        assert!(violations.is_empty(), "{n}: {violations:#?}");
    }
}
