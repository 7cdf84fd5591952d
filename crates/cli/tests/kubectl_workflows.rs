//! The kubectl workflows of the API-server issue, driven by the real kubectl
//! against a real `slipway up` on an ephemeral port.

use std::time::Duration;

use serde_json::Value;
use test_support::Slipway;

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

#[test]
fn version_discovery_and_explain() {
    let s = server();
    let v = s.ok(&["version"]);
    assert!(v.contains("Server Version: v1.32.0"), "{v}");
    assert!(
        v.contains("Client Version: v1.32"),
        "kubectl 1.32 must be dispatched: {v}"
    );

    let r = s.ok(&["api-resources"]);
    for line in [
        "deployments",
        "replicasets",
        "pods",
        "services",
        "namespaces",
        "nodes",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "events",
        "endpoints",
        "endpointslices",
        "leases",
        "customresourcedefinitions",
    ] {
        assert!(
            r.lines().any(|l| l.starts_with(line)),
            "api-resources lacks {line}:\n{r}"
        );
    }
    assert!(r.contains("deploy") && r.contains("apps/v1"), "{r}");

    let all = s.ok(&["get", "all", "-A"]);
    assert!(all.contains("service/kubernetes"), "{all}");
    assert!(all.contains("ClusterIP"), "{all}");

    let e = s.ok(&["explain", "deployment.spec.strategy"]);
    assert!(e.contains("rollingUpdate") && e.contains("type"), "{e}");
}

const DEPLOY: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: demo
        image: slipway/demo:v1
        ports:
        - containerPort: 80
"#;

#[test]
fn apply_created_unchanged_configured_with_defaults() {
    let s = server();
    let dir = s.dir.path();
    let f = dir.join("deploy.yaml");
    std::fs::write(&f, DEPLOY).expect("write");
    let fp = f.to_str().expect("path");
    assert_eq!(
        s.ok(&["apply", "-f", fp]).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        s.ok(&["apply", "-f", fp]).trim(),
        "deployment.apps/web unchanged"
    );

    let d = s.get_json(&["deployment", "web"]);
    // Defaults a real apiserver stores.
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(
        d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        "25%"
    );
    assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
    assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
    assert_eq!(d["metadata"]["generation"], 1);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-message");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    let ps = &d["spec"]["template"]["spec"];
    assert_eq!(ps["restartPolicy"], "Always");
    assert_eq!(ps["dnsPolicy"], "ClusterFirst");
    assert_eq!(ps["terminationGracePeriodSeconds"], 30);
    assert_eq!(ps["schedulerName"], "default-scheduler");
    assert!(d["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36));
    assert!(
        d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .is_string()
    );

    // Env var added, container port changed, strategy switched to Recreate:
    // $setElementOrder, merge-key lists and $retainKeys in one patch.
    let edited = DEPLOY
        .replace("containerPort: 80", "containerPort: 8080")
        .replace(
            "        ports:\n",
            "        env:\n        - name: GREETING\n          value: hi\n        ports:\n",
        )
        .replace(
            "  replicas: 3\n",
            "  replicas: 3\n  strategy:\n    type: Recreate\n",
        );
    std::fs::write(&f, edited).expect("write");
    assert_eq!(
        s.ok(&["apply", "-f", fp]).trim(),
        "deployment.apps/web configured"
    );
    let d = s.get_json(&["deployment", "web"]);
    assert_eq!(
        d["spec"]["strategy"],
        serde_json::json!({"type": "Recreate"})
    );
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "GREETING", "value": "hi"}])
    );
    assert_eq!(
        c["ports"].as_array().map(|a| a.len()),
        Some(1),
        "{}",
        c["ports"]
    );
    assert_eq!(c["ports"][0]["containerPort"], 8080);
    assert_eq!(d["metadata"]["generation"], 2);
    assert_eq!(
        s.ok(&["apply", "-f", fp]).trim(),
        "deployment.apps/web unchanged"
    );
}

#[test]
fn imperative_commands() {
    let s = server();
    // Protobuf body from kubectl 1.32's typed client.
    assert_eq!(
        s.ok(&[
            "create",
            "deployment",
            "web",
            "--image=slipway/demo:v1",
            "--replicas=3"
        ])
        .trim(),
        "deployment.apps/web created"
    );
    let d = s.get_json(&["deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "slipway/demo:v1"
    );

    assert_eq!(
        s.ok(&["create", "namespace", "team-a"]).trim(),
        "namespace/team-a created"
    );
    let ns = s.get_json(&["namespace", "team-a"]);
    assert_eq!(ns["status"]["phase"], "Active");
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );

    assert_eq!(
        s.ok(&[
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=1",
            "--from-literal=b=two"
        ])
        .trim(),
        "configmap/cfg created"
    );
    assert_eq!(
        s.get_json(&["cm", "cfg"])["data"],
        serde_json::json!({"a": "1", "b": "two"})
    );
    assert_eq!(
        s.ok(&[
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=password=hunter2"
        ])
        .trim(),
        "secret/s created"
    );
    let sec = s.get_json(&["secret", "s"]);
    assert_eq!(sec["data"]["password"], "aHVudGVyMg==");
    assert_eq!(sec["type"], "Opaque");

    assert_eq!(
        s.ok(&["create", "serviceaccount", "robot"]).trim(),
        "serviceaccount/robot created"
    );
    assert_eq!(
        s.ok(&["create", "service", "nodeport", "np", "--tcp=80:8080"])
            .trim(),
        "service/np created"
    );
    let np = s.get_json(&["svc", "np"]);
    assert_eq!(np["spec"]["ports"][0]["targetPort"], 8080);
    assert_eq!(np["spec"]["type"], "NodePort");

    assert_eq!(
        s.ok(&["run", "solo", "--image=slipway/demo:v2"]).trim(),
        "pod/solo created"
    );
    let p = s.get_json(&["pod", "solo"]);
    assert_eq!(p["metadata"]["labels"]["run"], "solo");
    // The node agent picks it up at once; either phase is truthful here.
    assert!(
        matches!(
            p["status"]["phase"].as_str(),
            Some("Pending") | Some("Running")
        ),
        "{p}"
    );
    assert_eq!(p["spec"]["serviceAccountName"], "default");

    assert_eq!(
        s.ok(&[
            "expose",
            "deployment",
            "web",
            "--port=80",
            "--type=NodePort"
        ])
        .trim(),
        "service/web exposed"
    );
    let svc = s.get_json(&["svc", "web"]);
    let np = svc["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .expect("nodePort");
    assert!((30000..=32767).contains(&np), "{np}");
    // Each instance allocates from a /20 of its own inside 10.96.0.0/12
    // (127.96.0.0/12 without pod namespaces).
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok())
            .is_some_and(|ip| {
                let o = ip.octets();
                (o[0] == 10 || o[0] == 127) && (96..=111).contains(&o[1])
            }),
        "{svc}"
    );
    let table = s.ok(&["get", "svc", "web"]);
    assert!(
        table.contains(&format!("80:{np}/TCP")) && table.contains("NodePort"),
        "{table}"
    );

    assert_eq!(
        s.ok(&["label", "deploy", "web", "tier=front"]).trim(),
        "deployment.apps/web labeled"
    );
    assert_eq!(
        s.ok(&["annotate", "deploy", "web", "note=hello"]).trim(),
        "deployment.apps/web annotated"
    );
    assert_eq!(
        s.ok(&["scale", "deploy", "web", "--replicas=5"]).trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(
        s.ok(&["set", "image", "deploy/web", "demo=slipway/demo:v2"])
            .trim(),
        "deployment.apps/web image updated"
    );
    let d = s.get_json(&["deploy", "web"]);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "slipway/demo:v2"
    );

    // The three patch types.
    s.ok(&[
        "patch",
        "svc",
        "web",
        "-p",
        r#"{"spec":{"type":"LoadBalancer"}}"#,
    ]);
    assert_eq!(s.get_json(&["svc", "web"])["spec"]["type"], "LoadBalancer");
    s.ok(&[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"minReadySeconds":3}}"#,
    ]);
    s.ok(&[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":2}]"#,
    ]);
    let d = s.get_json(&["deploy", "web"]);
    assert_eq!(
        (
            d["spec"]["minReadySeconds"].as_i64(),
            d["spec"]["replicas"].as_i64()
        ),
        (Some(3), Some(2))
    );

    // kubectl edit with a scripted editor.
    let editor = s.dir.path().join("edit.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/replicas: 2/replicas: 6/' \"$1\"\n",
    )
    .expect("write editor");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&editor)
        .status()
        .expect("chmod");
    let mut cmd = s.kubectl_cmd();
    cmd.args(["edit", "deploy", "web"]).env("EDITOR", &editor);
    let out = test_support::run(cmd, None, Duration::from_secs(60)).expect("edit");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "deployment.apps/web edited"
    );
    assert_eq!(s.get_json(&["deploy", "web"])["spec"]["replicas"], 6);

    // Output formats.
    let name = s.ok(&["get", "deploy", "-o", "name"]);
    assert_eq!(name.trim(), "deployment.apps/web");
    let jp = s.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]);
    assert_eq!(jp, "6");
    let yaml = s.ok(&["get", "deploy", "web", "-o", "yaml"]);
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("replicas: 6"),
        "{yaml}"
    );
    let wide = s.ok(&["get", "deploy", "-o", "wide"]);
    let header = wide.lines().next().unwrap_or("");
    for col in [
        "NAME",
        "READY",
        "UP-TO-DATE",
        "AVAILABLE",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ] {
        assert!(header.contains(col), "{wide}");
    }
    assert!(
        wide.contains("slipway/demo:v2") && wide.contains("app=web"),
        "{wide}"
    );
    // `kubectl run` pods are scheduled onto this machine's node and run.
    let pods = test_support::wait_for("solo running", Duration::from_secs(30), || {
        let out = s.ok(&["get", "pods", "-o", "wide"]);
        (out.contains("solo") && out.contains("Running") && out.contains("1/1")).then_some(out)
    });
    let node = s.get_json(&["nodes"])["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(!node.is_empty() && pods.contains(&node), "{pods}");

    // Deletes return promptly.
    let t = std::time::Instant::now();
    assert_eq!(
        s.ok(&["delete", "pod", "solo"]).trim(),
        "pod \"solo\" deleted"
    );
    assert_eq!(
        s.ok(&["delete", "deploy", "web"]).trim(),
        "deployment.apps \"web\" deleted"
    );
    assert_eq!(
        s.ok(&["delete", "svc", "web"]).trim(),
        "service \"web\" deleted"
    );
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "deletes took {:?}",
        t.elapsed()
    );
    let err = s.fails(&["get", "deploy", "web"]);
    assert!(
        err.contains("Error from server (NotFound): deployments.apps \"web\" not found"),
        "{err}"
    );
}

#[test]
fn get_watch_sees_other_clients() {
    let s = server();
    let mut cmd = s.kubectl_cmd();
    cmd.args(["get", "pods", "-w", "--output-watch-events"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("spawn watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Let the watch establish, then write from another client.
    std::thread::sleep(Duration::from_millis(1500));
    s.ok(&["run", "w1", "--image=slipway/demo:v1"]);
    s.ok(&["label", "pod", "w1", "x=y"]);
    s.ok(&["delete", "pod", "w1"]);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::time::Instant::now() < deadline
        && !seen.iter().any(|l: &String| l.starts_with("DELETED"))
    {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("ADDED") && text.contains("w1"), "{text}");
    assert!(text.contains("MODIFIED"), "{text}");
    assert!(text.contains("DELETED"), "{text}");
}

#[test]
fn describe_and_events_field_selectors() {
    let s = server();
    s.ok(&["create", "deployment", "d1", "--image=slipway/demo:v1"]);
    let out = s.ok(&["describe", "deployment", "d1"]);
    assert!(
        out.contains("StrategyType:") && out.contains("RollingUpdate"),
        "{out}"
    );
    assert!(
        out.contains("RollingUpdateStrategy:  25% max unavailable, 25% max surge"),
        "{out}"
    );
    // The Deployment controller's events, found the way describe finds them.
    let ev = test_support::wait_for("ScalingReplicaSet event", Duration::from_secs(30), || {
        let ev = s.get_json(&[
            "events",
            "--field-selector",
            "involvedObject.kind=Deployment,involvedObject.name=d1",
        ]);
        ev["items"].as_array().filter(|a| !a.is_empty()).cloned()
    });
    assert_eq!(ev[0]["reason"], "ScalingReplicaSet", "{ev:?}");
    let out = s.ok(&["describe", "deployment", "d1"]);
    assert!(
        out.contains("ScalingReplicaSet") && out.contains("deployment-controller"),
        "{out}"
    );
    let none = s.get_json(&[
        "events",
        "--field-selector",
        "involvedObject.kind=Deployment,involvedObject.name=nope",
    ]);
    assert_eq!(none["items"].as_array().map(|a| a.len()), Some(0), "{none}");
    let bad = s.fails(&["get", "pods", "--field-selector", "spec.bogus=1"]);
    assert!(
        bad.contains("field label not supported: spec.bogus"),
        "{bad}"
    );
    let labelled: Value = s.get_json(&["deploy", "-l", "app=d1"]);
    assert_eq!(labelled["items"].as_array().map(|a| a.len()), Some(1));
    let none: Value = s.get_json(&["deploy", "-l", "app notin (d1)"]);
    assert_eq!(none["items"].as_array().map(|a| a.len()), Some(0));
}

#[test]
fn two_instances_side_by_side() {
    let a = server();
    let b = server();
    a.ok(&["create", "configmap", "only-in-a", "--from-literal=k=v"]);
    assert!(a.ok(&["get", "cm"]).contains("only-in-a"));
    let err = b.fails(&["get", "cm", "only-in-a"]);
    assert!(err.contains("NotFound"), "{err}");
    // Restarting on the same data dir keeps the state and the credentials.
    drop(b);
    let mut a = a;
    a.stop();
    a.spawn().expect("restart");
    assert!(a.ok(&["get", "cm"]).contains("only-in-a"));
}

#[test]
fn server_side_apply_creates_then_updates() {
    let s = server();
    let f = s.dir.path().join("cm.yaml");
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"1\"\n",
    )
    .expect("write");
    let fp = f.to_str().expect("path");
    assert_eq!(
        s.ok(&["apply", "--server-side", "-f", fp]).trim(),
        "configmap/ssa serverside-applied"
    );
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: \"2\"\n",
    )
    .expect("write");
    assert_eq!(
        s.ok(&["apply", "--server-side", "-f", fp]).trim(),
        "configmap/ssa serverside-applied"
    );
    assert_eq!(s.get_json(&["cm", "ssa"])["data"]["a"], "2");
}
