//! Issue 3 acceptance through the real kubectl: ReplicaSets of real
//! processes, restarts, probes, and a slipway restart that keeps pods.

use std::time::Duration;

use serde_json::Value;
use test_support::{wait_for, Slipway};

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

fn rs_yaml(name: &str, replicas: u32, extra_env: &str, probes: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 5
      containers:
      - name: demo
        image: slipway/demo:v1
        ports:
        - containerPort: 80
        env: [{extra_env}]
{probes}"#
    )
}

const READINESS: &str = "        readinessProbe:\n          httpGet: {path: /readyz, port: 80}\n          periodSeconds: 1\n";

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

fn wait_ready(s: &Slipway, app: &str, n: usize) -> Vec<Value> {
    wait_for(
        &format!("{n} ready {app} pods"),
        Duration::from_secs(60),
        || {
            let ps = pods(s, app);
            (ps.len() == n && ps.iter().all(ready)).then_some(ps)
        },
    )
}

fn curl(url: &str) -> String {
    let mut c = std::process::Command::new("curl");
    c.args(["-s", "--max-time", "5", url]);
    let out = test_support::run(c, None, Duration::from_secs(10)).expect("curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pids of processes whose environment names this pod (`HOSTNAME=<pod>`).
fn pids_of_pod(pod: &str) -> Vec<u32> {
    let needle = format!("HOSTNAME={pod}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn replicaset_of_three_serves_on_port_80_and_heals() {
    let s = server();
    s.ok_stdin(&["apply", "-f", "-"], &rs_yaml("web", 3, "", READINESS));
    let ps = wait_ready(&s, "web", 3);
    let wide = s.ok(&["get", "pods", "-o", "wide"]);
    let node = s.get_json(&["nodes"])["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for p in &ps {
        let name = p["metadata"]["name"].as_str().unwrap_or("");
        let ip = p["status"]["podIP"].as_str().expect("pod IP");
        assert!(wide.contains(ip) && wide.contains(&node), "{wide}");
        let body = curl(&format!("http://{ip}:80/"));
        assert!(body.contains("v1") && body.contains(name), "{ip}: {body}");
    }

    // kill -9 one pod's process: the container restarts and keeps its previous log.
    let victim = ps[0]["metadata"]["name"].as_str().unwrap_or("").to_string();
    let pids = pids_of_pod(&victim);
    assert!(!pids.is_empty(), "no process for {victim}");
    for pid in &pids {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    wait_for("restartCount 1", Duration::from_secs(60), || {
        let p = s.get_json(&["pod", &victim]);
        (p["status"]["containerStatuses"][0]["restartCount"] == 1 && ready(&p)).then_some(())
    });
    let prev = s.ok(&["logs", "--previous", &victim]);
    assert!(prev.contains("listening on"), "{prev}");
    let rs = s.ok(&["get", "rs", "web"]);
    assert!(rs.contains("3         3         3"), "{rs}");

    // Deleting one replica: a new one replaces it.
    s.ok(&["delete", "pod", &victim]);
    let ps = wait_ready(&s, "web", 3);
    assert!(ps.iter().all(|p| p["metadata"]["name"] != victim.as_str()));
}

#[test]
fn failing_probes_show_in_status_and_events() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &rs_yaml("lazy", 1, "{name: DEMO_READY, value: \"false\"}", READINESS),
    );
    let liveness = "        livenessProbe:\n          httpGet: {path: /nope, port: 80}\n          periodSeconds: 1\n          failureThreshold: 1\n";
    s.ok_stdin(&["apply", "-f", "-"], &rs_yaml("sick", 1, "", liveness));

    // Not ready, but running.
    let lazy = wait_for("lazy running", Duration::from_secs(60), || {
        let ps = pods(&s, "lazy");
        ps.first()
            .filter(|p| p["status"]["phase"] == "Running")
            .cloned()
    });
    std::thread::sleep(Duration::from_secs(3));
    let name = lazy["metadata"]["name"].as_str().unwrap_or("").to_string();
    assert!(!ready(&s.get_json(&["pod", &name])));
    let row = s.ok(&["get", "pod", &name]);
    assert!(row.contains("0/1") && row.contains("Running"), "{row}");

    // A failing liveness probe restarts the container with back-off.
    let sick = wait_for("sick restarted twice", Duration::from_secs(90), || {
        let ps = pods(&s, "sick");
        ps.first()
            .filter(|p| {
                p["status"]["containerStatuses"][0]["restartCount"]
                    .as_i64()
                    .unwrap_or(0)
                    >= 2
            })
            .cloned()
    });
    let sick_name = sick["metadata"]["name"].as_str().unwrap_or("").to_string();
    let described = wait_for("BackOff event", Duration::from_secs(60), || {
        let d = s.ok(&["describe", "pod", &sick_name]);
        (d.contains("Unhealthy") && d.contains("BackOff")).then_some(d)
    });
    assert!(described.contains("Liveness probe failed"), "{described}");
    let d = s.ok(&["describe", "pod", &name]);
    assert!(d.contains("Readiness probe failed"), "{d}");
}

#[test]
fn pods_survive_a_kill_9_of_slipway() {
    let mut s = server();
    s.ok_stdin(&["apply", "-f", "-"], &rs_yaml("keep", 5, "", READINESS));
    let before = wait_ready(&s, "keep", 5);
    let mut names: Vec<String> = before
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    names.sort();

    s.kill9();
    s.spawn().expect("restart");
    let after = wait_ready(&s, "keep", 5);
    let mut again: Vec<String> = after
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    again.sort();
    assert_eq!(names, again, "the same pods, no replacements");
    for n in &names {
        let pids = pids_of_pod(n);
        // One demo process per pod (a wrapper may sit above it).
        assert!(!pids.is_empty() && pids.len() <= 2, "{n}: {pids:?}");
    }
    // The new agent supervises the adopted processes: one killed restarts.
    let first = names[0].clone();
    for pid in pids_of_pod(&first) {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
    }
    wait_for(
        "adopted container restarted",
        Duration::from_secs(60),
        || {
            let p = s.get_json(&["pod", &first]);
            (p["status"]["containerStatuses"][0]["restartCount"] == 1 && ready(&p)).then_some(())
        },
    );
    // A clean stop leaves no pod process behind.
    s.stop();
    for n in &names {
        assert!(
            pids_of_pod(n).is_empty(),
            "{n} still has processes after a clean stop"
        );
    }
}

/// Issue 3 acceptance through kubectl: a pod with env from a ConfigMap, a
/// Secret and the Downward API, a configMap volume and an emptyDir shared by
/// two containers sees all of them at their mountPaths. Mount namespaces
/// need root; without it volumes are reached through `SLIPWAY_VOLUME_<NAME>`
/// (crates/node/tests/volumes.rs covers that), so this test says so and stops.
#[test]
fn pod_sees_env_sources_and_volumes() {
    if !node::net::is_root() {
        eprintln!("skipped: volumes at their mountPaths need root (mount namespaces)");
        return;
    }
    let s = server();
    s.ok(&[
        "create",
        "configmap",
        "app-config",
        "--from-literal=key=v1",
        "--from-literal=greeting=hello",
    ]);
    s.ok(&[
        "create",
        "secret",
        "generic",
        "app-secret",
        "--from-literal=password=hunter2",
    ]);
    let pod = r#"apiVersion: v1
kind: Pod
metadata:
  name: acceptance
  labels: {app: demo, tier: web}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: shared
    emptyDir: {}
  containers:
  - name: app
    image: slipway/demo:v1
    command: ["sh", "-c"]
    args:
    - |
      echo "env=$CM_KEY/$SEC_password/$PASSWORD/$POD_NAME/$POD_NAMESPACE/$NODE"
      echo "ip=$POD_IP"
      echo "config=$(cat /etc/config/key)/$(cat /etc/config/greeting)"
      echo "from-app" > /var/shared/note
      while [ ! -f /var/shared/reply ]; do sleep 0.1; done
      echo "reply=$(cat /var/shared/reply)"
      exec sleep 3600
    env:
    - name: CM_KEY
      valueFrom: {configMapKeyRef: {name: app-config, key: key}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: app-secret, key: password}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_NAMESPACE
      valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    envFrom:
    - secretRef: {name: app-secret}
      prefix: SEC_
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: shared, mountPath: /var/shared}
  - name: side
    image: slipway/demo:v1
    command: ["sh", "-c"]
    args:
    - |
      while [ ! -f /shared/note ]; do sleep 0.1; done
      echo "seen=$(cat /shared/note)"
      echo "from-side" > /shared/reply
      exec sleep 3600
    volumeMounts:
    - {name: shared, mountPath: /shared}
"#;
    s.ok_stdin(&["apply", "-f", "-"], pod);
    let logs = wait_for(
        "the app container's report",
        Duration::from_secs(60),
        || {
            let out = s.kubectl(&["logs", "acceptance", "-c", "app"]).ok()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            text.contains("reply=").then_some(text)
        },
    );
    let p = s.get_json(&["pod", "acceptance"]);
    let ip = p["status"]["podIP"].as_str().unwrap_or("").to_string();
    let node = p["spec"]["nodeName"].as_str().unwrap_or("").to_string();
    assert!(!ip.is_empty() && !node.is_empty(), "{}", p["status"]);
    assert!(
        logs.contains(&format!("env=v1/hunter2/hunter2/acceptance/default/{node}")),
        "{logs}"
    );
    assert!(logs.contains(&format!("ip={ip}")), "{logs}");
    assert!(logs.contains("config=v1/hello"), "{logs}");
    assert!(logs.contains("reply=from-side"), "{logs}");
    let side = s.ok(&["logs", "acceptance", "-c", "side"]);
    assert!(side.contains("seen=from-app"), "{side}");
}
