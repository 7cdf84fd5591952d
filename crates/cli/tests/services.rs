//! Issue 5 through the real kubectl: Service addresses (ClusterIP, NodePort,
//! LoadBalancer) reach ready endpoints from the host and from a pod; seed
//! 002's blue/green with `bg-deploy.sh` as written, seed 003's NodePort
//! blue/green and canary; and zero failed requests under a steady keep-alive
//! load while rollouts, switches, pod deletions and selector flips happen.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use test_support::load::{self, Load, Sample};
use test_support::{wait_for, Slipway};

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

/// A Deployment `name` of `slipway/demo:<tag>` with pod labels `labels`
/// (a YAML flow map body, e.g. `app: web, version: "1.0"`) that are also its
/// selector, a containerPort 80 named http and a quick readiness probe.
fn deployment(name: &str, replicas: u32, tag: &str, labels: &str, env: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{{labels}}}
  template:
    metadata:
      labels: {{{labels}}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: app
        image: slipway/demo:{tag}
        ports:
        - name: http
          containerPort: 80
        env: [{env}]
        readinessProbe:
          httpGet: {{path: /readyz, port: 80}}
          periodSeconds: 1
"#
    )
}

fn lb_ip(s: &Slipway, svc: &str) -> String {
    wait_for(
        &format!("a LoadBalancer address for {svc}"),
        Duration::from_secs(30),
        || {
            let ip = s.ok(&[
                "get",
                "svc",
                svc,
                "-o",
                "jsonpath={.status.loadBalancer.ingress[*].ip}",
            ]);
            (!ip.trim().is_empty()).then(|| ip.trim().to_string())
        },
    )
}

fn field(s: &Slipway, what: &[&str], path: &str) -> String {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    let jp = format!("jsonpath={path}");
    args.extend_from_slice(&["-o", &jp]);
    s.ok(&args).trim().to_string()
}

fn addr(ip: &str, port: u16) -> SocketAddr {
    format!("{ip}:{port}").parse().expect("address")
}

/// GET `/` until it answers 200 (the router picks Services up within
/// milliseconds, endpoints once pods are ready).
fn wait_answer(a: SocketAddr, want: &str) -> String {
    wait_for(
        &format!("{a} answers with {want}"),
        Duration::from_secs(60),
        || match load::get(a, "/") {
            Ok((200, body)) if body.contains(want) => Some(body),
            _ => None,
        },
    )
}

fn rollout(s: &Slipway, deploy: &str) {
    s.ok(&[
        "rollout",
        "status",
        &format!("deployment/{deploy}"),
        "--timeout=90s",
    ]);
}

/// Bodies of the demo app look like `slipway-demo <tag> pod=<name>`.
fn tag_of(body: &str) -> &str {
    body.split_whitespace().nth(1).unwrap_or("")
}

fn tally(samples: &[Sample]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for s in samples.iter().filter(|s| s.ok()) {
        *m.entry(tag_of(&s.body).to_string()).or_insert(0) += 1;
    }
    m
}

fn assert_no_failures(what: &str, samples: &[Sample]) {
    let failed = load::failures(samples);
    assert!(
        failed.is_empty(),
        "{what}: {} of {} requests failed:\n{}",
        failed.len(),
        samples.len(),
        failed
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Keep the load running until it answered `n` more requests.
fn wait_more(load: &Load, n: usize) {
    let target = load.count() + n;
    wait_for("more load answered", Duration::from_secs(60), || {
        (load.count() >= target).then_some(())
    });
}

#[test]
fn service_addresses_reach_ready_endpoints_from_host_and_pod() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("web", 2, "v1", "app: web", ""),
    );
    // Selected by the Service, never ready: must never answer.
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment(
            "web-unready",
            1,
            "unready",
            "app: web, role: unready",
            "{name: DEMO_READY, value: \"false\"}",
        ),
    );
    rollout(&s, "web");
    s.ok(&[
        "expose",
        "deployment",
        "web",
        "--type=LoadBalancer",
        "--port=80",
        "--selector=app=web",
    ]);
    let cluster_ip = field(&s, &["svc", "web"], "{.spec.clusterIP}");
    let node_port: u16 = field(&s, &["svc", "web"], "{.spec.ports[0].nodePort}")
        .parse()
        .expect("nodePort");
    let lb = lb_ip(&s, "web");
    let out = s.ok(&["get", "svc", "web"]);
    assert!(out.contains(&lb) && out.contains(&cluster_ip), "{out}");

    for a in [
        addr(&cluster_ip, 80),
        addr("127.0.0.1", node_port),
        addr(&lb, 80),
    ] {
        wait_answer(a, "v1");
        let mut pods = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let (status, body) = load::get(a, "/").expect("GET");
            assert_eq!(status, 200, "{a}: {body}");
            assert!(body.contains("slipway-demo v1 pod=web-"), "{a}: {body}");
            pods.insert(body);
        }
        assert_eq!(pods.len(), 2, "{a}: both ready pods answer: {pods:?}");
    }

    // From inside a pod (its own network namespace when root): the
    // ClusterIP, the Service environment variables, the LoadBalancer
    // address and the NodePort on the node's address as the pod sees it.
    let script = format!(
        "for u in http://{cluster_ip}/ http://$WEB_SERVICE_HOST:$WEB_SERVICE_PORT/ http://{lb}/ http://$HOST_IP:{node_port}/; do \
         printf '%s ' $u; curl -s -m 5 $u || echo FAILED; done; sleep 3600"
    );
    let pod = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: slipway/demo:v1
    command: ["sh", "-c", {script:?}]
    env:
    - name: HOST_IP
      valueFrom: {{fieldRef: {{fieldPath: status.hostIP}}}}
"#
    );
    s.ok_stdin(&["apply", "-f", "-"], &pod);
    let logs = wait_for(
        "the client pod's four answers",
        Duration::from_secs(60),
        || {
            let out = s.kubectl(&["logs", "client"]).ok()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            (text.lines().count() >= 4).then_some(text)
        },
    );
    assert!(!logs.contains("FAILED"), "{logs}");
    assert_eq!(
        logs.matches("slipway-demo v1 pod=web-").count(),
        4,
        "{logs}"
    );
}

/// Seed 002: blue.yaml, service.yaml (type LoadBalancer), green.yaml and
/// bg-deploy.sh as written (apps/v1 with a selector; demo images whose tag
/// carries the version). Under a steady keep-alive load through the
/// LoadBalancer address: no failed request, and once the script's
/// `kubectl patch svc` returned, no answer from blue.
#[test]
fn seed_002_blue_green_with_bg_deploy_script_loses_nothing() {
    let s = server();
    let dir = s.dir.path();
    let version = |v: &str| {
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-{v}
spec:
  replicas: 3
  selector:
    matchLabels:
      name: nginx
      version: "{v}"
  template:
    metadata:
      labels:
        name: nginx
        version: "{v}"
    spec:
      containers:
      - name: nginx
        image: slipway/demo:nginx-{v}
        ports:
        - name: http
          containerPort: 80
        readinessProbe:
          httpGet: {{path: /readyz, port: 80}}
          periodSeconds: 1
"#
        )
    };
    std::fs::write(dir.join("blue.yaml"), version("1.10")).expect("blue.yaml");
    std::fs::write(dir.join("green.yaml"), version("1.11")).expect("green.yaml");
    std::fs::write(
        dir.join("service.yaml"),
        r#"apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels:
    name: nginx
spec:
  ports:
  - name: http
    port: 80
    targetPort: 80
  selector:
    name: nginx
    version: "1.10"
  type: LoadBalancer
"#,
    )
    .expect("service.yaml");
    std::fs::write(
        dir.join("bg-deploy.sh"),
        r#"#!/bin/bash
# bg-deploy.sh <servicename> <version> <green-deployment.yaml>
# Deployment name should be <service>-<version>
DEPLOYMENTNAME=$1-$2
SERVICE=$1
VERSION=$2
DEPLOYMENTFILE=$3
kubectl apply -f $DEPLOYMENTFILE
# Wait until the Deployment is ready by checking the MinimumReplicasAvailable condition.
READY=$(kubectl get deploy $DEPLOYMENTNAME -o json | jq '.status.conditions[] | select(.reason == "MinimumReplicasAvailable") | .status' | tr -d '"')
while [[ "$READY" != "True" ]]; do
READY=$(kubectl get deploy $DEPLOYMENTNAME -o json | jq '.status.conditions[] | select(.reason == "MinimumReplicasAvailable") | .status' | tr -d '"')
sleep 5
done
# Update the service selector with the new version
kubectl patch svc $SERVICE -p "{\"spec\":{\"selector\": {\"name\": \"${SERVICE}\", \"version\": \"${VERSION}\"}}}"
"#,
    )
    .expect("bg-deploy.sh");

    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    s.ok(&["apply", "-f", &path("blue.yaml")]);
    s.ok(&["apply", "-f", &path("service.yaml")]);
    rollout(&s, "nginx-1.10");
    // EXTERNAL_IP=$(kubectl get svc nginx -o jsonpath="{.status.loadBalancer.ingress[*].ip}")
    let external_ip = lb_ip(&s, "nginx");
    // curl -s http://$EXTERNAL_IP/version | grep nginx
    let lb = addr(&external_ip, 80);
    wait_answer(lb, "nginx-1.10");
    let (status, version) = load::get(lb, "/version").expect("GET /version");
    assert_eq!(status, 200);
    assert!(version.contains("nginx"), "{version}");

    let load = Load::start(lb, &external_ip, "/", 4, 200_000);
    wait_more(&load, 200);
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(dir.join("bg-deploy.sh"))
        .args(["nginx", "1.11"])
        .arg(dir.join("green.yaml"))
        .env("KUBECONFIG", &s.kubeconfig)
        .env("HOME", dir.join("home"));
    let out = test_support::run(cmd, None, Duration::from_secs(120)).expect("bg-deploy.sh");
    let acked = Instant::now();
    assert!(
        out.status.success(),
        "bg-deploy.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("service/nginx patched"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    wait_more(&load, 500);
    let samples = load.finish();
    assert_no_failures("blue/green switch", &samples);
    let after: Vec<&Sample> = samples.iter().filter(|s| s.start >= acked).collect();
    assert!(after.len() >= 500, "{}", after.len());
    let old: Vec<&&Sample> = after
        .iter()
        .filter(|s| s.body.contains("nginx-1.10"))
        .collect();
    assert!(
        old.is_empty(),
        "{} answers from blue after the patch was acknowledged",
        old.len()
    );
    let totals = tally(&samples);
    assert!(
        totals.get("nginx-1.10").is_some_and(|n| *n > 0),
        "{totals:?}"
    );
    assert!(
        totals.get("nginx-1.11").is_some_and(|n| *n >= 500),
        "{totals:?}"
    );
    let (_, version) = load::get(lb, "/version").expect("GET /version");
    assert!(version.contains("nginx-1.11"), "{version}");
}

/// Seed 003 §4 (kubectl run no longer creates Deployments, so the two
/// versions are applied as Deployments with the seed's labels): `kubectl
/// expose … --type=NodePort`, then `kubectl patch service act -p
/// '{"spec":{"selector":{"version":"2.0"}}}'` moves every request.
#[test]
fn seed_003_blue_green_by_patching_a_node_port_service() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("act1", 1, "1.0", "app: act-app, version: \"1.0\"", ""),
    );
    s.ok(&["scale", "deployment", "act1", "--replicas=4"]);
    s.ok(&[
        "expose",
        "deployment",
        "act1",
        "--type=NodePort",
        "--name=act",
    ]);
    rollout(&s, "act1");
    let out = s.ok(&["get", "svc/act"]);
    assert!(out.contains("NodePort"), "{out}");
    let node_port: u16 = field(&s, &["svc", "act"], "{.spec.ports[0].nodePort}")
        .parse()
        .expect("nodePort");
    let a = addr("127.0.0.1", node_port);
    wait_answer(a, "1.0");

    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("act2", 1, "2.0", "app: act-app, version: \"2.0\"", ""),
    );
    s.ok(&["scale", "deployment", "act2", "--replicas=4"]);
    rollout(&s, "act2");
    for _ in 0..20 {
        let (_, body) = load::get(a, "/").expect("GET");
        assert_eq!(tag_of(&body), "1.0", "{body}");
    }
    let out = s.ok(&[
        "patch",
        "service",
        "act",
        "-p",
        r#"{"spec":{"selector":{"version":"2.0"}}}"#,
    ]);
    assert_eq!(out.trim(), "service/act patched");
    wait_answer(a, "2.0");
    for _ in 0..20 {
        let (_, body) = load::get(a, "/").expect("GET");
        assert_eq!(tag_of(&body), "2.0", "{body}");
    }
    s.ok(&["delete", "deployment", "act1"]);
    for _ in 0..20 {
        let (status, body) = load::get(a, "/").expect("GET");
        assert_eq!((status, tag_of(&body)), (200, "2.0"), "{body}");
    }
}

/// Seed 003 §5: 3 replicas of v1 and 1 of v2 behind one selector give about
/// a quarter v2 answers; scaling v2 up and deleting v1 finishes the release.
#[test]
fn seed_003_canary_gets_about_a_quarter_of_requests() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("act1", 1, "v1", "app: act-app, track: act1", ""),
    );
    s.ok(&["scale", "deploy", "act1", "--replicas=3"]);
    // The Service selects the app, not the track, as in the seed.
    s.ok(&[
        "expose",
        "deploy",
        "act1",
        "--type=NodePort",
        "--name=act",
        "--port=80",
        "--selector=app=act-app",
    ]);
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("act2", 1, "v2", "app: act-app, track: act2", ""),
    );
    rollout(&s, "act1");
    rollout(&s, "act2");
    let node_port: u16 = field(&s, &["svc", "act"], "{.spec.ports[0].nodePort}")
        .parse()
        .expect("nodePort");
    let a = addr("127.0.0.1", node_port);
    wait_for("all four endpoints", Duration::from_secs(30), || {
        let n = field(&s, &["endpoints", "act"], "{.subsets[*].addresses[*].ip}")
            .split_whitespace()
            .count();
        (n == 4).then_some(())
    });
    wait_answer(a, "v2");
    let load = Load::start(a, "act", "/", 2, 800);
    wait_for("800 answers", Duration::from_secs(60), || {
        (load.count() >= 800).then_some(())
    });
    let samples = load.finish();
    assert_no_failures("canary", &samples);
    let totals = tally(&samples);
    let v2 = *totals.get("v2").unwrap_or(&0) as f64 / samples.len() as f64;
    assert!((0.15..=0.35).contains(&v2), "v2 share {v2:.2}: {totals:?}");

    s.ok(&["scale", "deploy", "act2", "--replicas=4"]);
    rollout(&s, "act2");
    s.ok(&["delete", "deploy", "act1"]);
    wait_for("only v2 answers", Duration::from_secs(60), || {
        (0..20)
            .all(|_| load::get(a, "/").is_ok_and(|(st, b)| st == 200 && tag_of(&b) == "v2"))
            .then_some(())
    });
}

/// Zero-loss (a) and (c): a 4-replica Deployment rolls v1 → v2, then pods
/// are deleted one by one, under a steady keep-alive load through the
/// LoadBalancer address: no request fails.
#[test]
fn no_request_lost_during_rolling_update_and_pod_deletions() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("web", 4, "v1", "app: web", ""),
    );
    s.ok(&[
        "expose",
        "deployment",
        "web",
        "--type=LoadBalancer",
        "--port=80",
    ]);
    rollout(&s, "web");
    let lb = addr(&lb_ip(&s, "web"), 80);
    wait_answer(lb, "v1");
    let load = Load::start(lb, "web", "/", 4, 500_000);
    wait_more(&load, 200);

    s.ok(&["set", "image", "deployment/web", "app=slipway/demo:v2"]);
    rollout(&s, "web");
    wait_more(&load, 200);
    let rolled = load.samples();
    assert_no_failures("rolling update", &rolled);
    let totals = tally(&rolled);
    assert!(
        totals.contains_key("v1") && totals.contains_key("v2"),
        "{totals:?}"
    );

    let pods: Vec<String> = s
        .ok(&["get", "pods", "-l", "app=web", "-o", "name"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(pods.len(), 4, "{pods:?}");
    for p in &pods {
        s.ok(&["delete", p]);
        wait_for("4 ready pods again", Duration::from_secs(60), || {
            let d = s.get_json(&["deployment", "web"]);
            (d["status"]["readyReplicas"] == 4 && d["status"]["replicas"] == 4).then_some(())
        });
        wait_more(&load, 50);
    }
    let samples = load.finish();
    assert_no_failures("pod deletions", &samples);
    assert!(samples.len() > 1000, "{}", samples.len());
}

/// Zero-loss (d): the Service selector flips between two Deployments 20
/// times under load; no request fails and after every acknowledged patch
/// only the selected version answers.
#[test]
fn no_request_lost_while_selector_flips_twenty_times() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("blue", 2, "blue", "app: flip, version: blue", ""),
    );
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("green", 2, "green", "app: flip, version: green", ""),
    );
    s.ok(&[
        "expose",
        "deployment",
        "blue",
        "--type=LoadBalancer",
        "--name=flip",
        "--port=80",
    ]);
    rollout(&s, "blue");
    rollout(&s, "green");
    let lb = addr(&lb_ip(&s, "flip"), 80);
    wait_answer(lb, "blue");
    let load = Load::start(lb, "flip", "/", 4, 500_000);
    wait_more(&load, 100);
    // (patch sent, patch acknowledged, version selected)
    let mut acks: Vec<(Instant, Instant, &str)> = Vec::new();
    for i in 0..20 {
        let to = if i % 2 == 0 { "green" } else { "blue" };
        let sent = Instant::now();
        s.ok(&[
            "patch",
            "service",
            "flip",
            "-p",
            &format!(r#"{{"spec":{{"selector":{{"version":"{to}"}}}}}}"#),
        ]);
        acks.push((sent, Instant::now(), to));
        wait_more(&load, 50);
    }
    let samples = load.finish();
    assert_no_failures("selector flips", &samples);
    // Requests sent after an acknowledged patch, and answered before the
    // next patch was sent, come from the selected version only.
    let mut wrong = Vec::new();
    for (i, (_, at, to)) in acks.iter().enumerate() {
        let until = acks.get(i + 1).map(|a| a.0);
        for smp in samples
            .iter()
            .filter(|smp| smp.start >= *at && until.is_none_or(|u| smp.end <= u))
        {
            if tag_of(&smp.body) != *to {
                wrong.push(format!(
                    "after flip {i} to {to}: {} (sent {:?} after the ack)",
                    smp.body.trim(),
                    smp.start - *at
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers from the unselected version:\n{}",
        wrong.len(),
        wrong
            .iter()
            .step_by((wrong.len() / 20).max(1))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// `sessionAffinity: ClientIP` pins a client to one pod; without it the
/// requests spread. A headless Service gets no ClusterIP and no proxy.
#[test]
fn client_ip_affinity_and_headless_services() {
    let s = server();
    s.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("web", 3, "v1", "app: web", ""),
    );
    s.ok(&["expose", "deployment", "web", "--port=80"]);
    s.ok(&[
        "expose",
        "deployment",
        "web",
        "--name=web-headless",
        "--port=80",
        "--cluster-ip=None",
    ]);
    rollout(&s, "web");
    let ip = field(&s, &["svc", "web"], "{.spec.clusterIP}");
    let a = addr(&ip, 80);
    wait_answer(a, "v1");
    let spread = |n: usize| {
        let mut pods = std::collections::BTreeSet::new();
        for _ in 0..n {
            let (status, body) = load::get(a, "/").expect("GET");
            assert_eq!(status, 200, "{body}");
            pods.insert(body);
        }
        pods
    };
    wait_for("all three pods answer", Duration::from_secs(30), || {
        (spread(30).len() == 3).then_some(())
    });
    s.ok(&[
        "patch",
        "service",
        "web",
        "-p",
        r#"{"spec":{"sessionAffinity":"ClientIP"}}"#,
    ]);
    let pinned = spread(30);
    assert_eq!(pinned.len(), 1, "{pinned:?}");

    assert_eq!(
        field(&s, &["svc", "web-headless"], "{.spec.clusterIP}"),
        "None"
    );
    let out = s.ok(&["get", "svc", "web-headless"]);
    assert!(out.contains("None"), "{out}");
}
