//! Deletion semantics: finalizers, propagation policies recorded for the
//! garbage collector, namespace finalization, deletecollection; watch
//! filtering and timeouts.

use std::time::Duration;

use test_support::{wait_for, Slipway};

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

#[test]
fn finalizers_hold_deletion_until_removed() {
    let s = server();
    s.ok(&["create", "configmap", "held", "--from-literal=a=b"]);
    s.ok(&[
        "patch",
        "cm",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["example.com/hold"]}}"#,
    ]);
    assert_eq!(
        s.ok(&["delete", "cm", "held", "--wait=false"]).trim(),
        "configmap \"held\" deleted"
    );
    let cm = s.get_json(&["cm", "held"]);
    assert!(cm["metadata"]["deletionTimestamp"].is_string(), "{cm}");
    // Removing the last finalizer completes the deletion.
    s.ok(&[
        "patch",
        "cm",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/metadata/finalizers"}]"#,
    ]);
    let err = s.fails(&["get", "cm", "held"]);
    assert!(err.contains("NotFound"), "{err}");
}

const RS: &str = r#"apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: NAME
spec:
  replicas: 2
  selector:
    matchLabels:
      app: NAME
  template:
    metadata:
      labels:
        app: NAME
    spec:
      containers:
      - name: c
        image: slipway/demo:v1
"#;

fn pods_of(s: &Slipway, app: &str) -> Vec<serde_json::Value> {
    s.get_json(&["pods", "-l", &format!("app={app}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn cascading_deletes_through_the_garbage_collector() {
    let s = server();
    for name in ["bg", "fg", "or"] {
        s.ok_stdin(&["apply", "-f", "-"], &RS.replace("NAME", name));
        wait_for(&format!("{name} pods"), Duration::from_secs(30), || {
            (pods_of(&s, name).len() == 2).then_some(())
        });
    }
    // Orphan: the ReplicaSet goes, its pods stay without an owner.
    s.ok(&["delete", "rs", "or", "--cascade=orphan"]);
    assert!(s.fails(&["get", "rs", "or"]).contains("NotFound"));
    let orphans = pods_of(&s, "or");
    assert_eq!(orphans.len(), 2);
    assert!(
        orphans.iter().all(|p| p["metadata"]["ownerReferences"]
            .as_array()
            .is_none_or(|o| o.is_empty())),
        "{orphans:?}"
    );
    // Foreground: pods go first, then the ReplicaSet; kubectl waits for it.
    s.ok(&[
        "delete",
        "rs",
        "fg",
        "--cascade=foreground",
        "--timeout=30s",
    ]);
    assert!(s.fails(&["get", "rs", "fg"]).contains("NotFound"));
    assert!(pods_of(&s, "fg").is_empty());
    // Background (default): the ReplicaSet goes at once, the collector removes the pods.
    s.ok(&["delete", "rs", "bg"]);
    wait_for("bg pods collected", Duration::from_secs(30), || {
        pods_of(&s, "bg").is_empty().then_some(())
    });
}

#[test]
fn deleting_a_namespace_removes_its_contents() {
    let s = server();
    s.ok(&["create", "namespace", "doomed"]);
    s.ok(&[
        "-n",
        "doomed",
        "create",
        "configmap",
        "c1",
        "--from-literal=a=b",
    ]);
    s.ok(&[
        "-n",
        "doomed",
        "create",
        "deployment",
        "d1",
        "--image=slipway/demo:v1",
    ]);
    s.ok(&["delete", "namespace", "doomed", "--timeout=30s"]);
    assert!(s
        .fails(&["get", "namespace", "doomed"])
        .contains("NotFound"));
    // Its objects are gone too, and a new namespace of that name starts empty.
    s.ok(&["create", "namespace", "doomed"]);
    let cms = s.get_json(&["-n", "doomed", "configmaps"]);
    assert_eq!(cms["items"].as_array().map(|a| a.len()), Some(0), "{cms}");
}

#[test]
fn creating_in_a_missing_or_terminating_namespace_fails() {
    let s = server();
    let err = s.fails(&[
        "-n",
        "nowhere",
        "create",
        "configmap",
        "c",
        "--from-literal=a=b",
    ]);
    assert!(err.contains("namespaces \"nowhere\" not found"), "{err}");
}

#[test]
fn deletecollection_and_watch_semantics_over_http() {
    let s = server();
    for i in 0..3 {
        s.ok(&[
            "create",
            "configmap",
            &format!("dc{i}"),
            "--from-literal=a=b",
        ]);
    }
    s.ok(&["label", "cm", "dc0", "dc1", "group=x"]);
    let ep = s.endpoint().expect("endpoint");
    let out = ep
        .curl(
            true,
            &["-X", "DELETE"],
            "/api/v1/namespaces/default/configmaps?labelSelector=group%3Dx",
        )
        .expect("deletecollection");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list["items"].as_array().map(|a| a.len()), Some(2), "{list}");
    let names = s.ok(&["get", "cm", "-o", "name"]);
    assert!(names.contains("dc2") && !names.contains("dc0"), "{names}");

    // A watch with a label selector: an object that stops matching is DELETED
    // for this watcher; timeoutSeconds ends the stream.
    let rv = s.get_json(&["cm"])["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("0")
        .to_string();
    let mut watch = std::process::Command::new("curl");
    watch
        .args(["-sS", "-N", "--max-time", "20", "--cacert"])
        .arg(&ep.ca_file)
        .args(["-H", &format!("Authorization: Bearer {}", ep.token)])
        .arg(format!("{}/api/v1/namespaces/default/configmaps?watch=true&labelSelector=keep%3Dyes&resourceVersion={rv}&timeoutSeconds=3", ep.server))
        .stdout(std::process::Stdio::piped());
    let child = watch.spawn().expect("curl watch");
    std::thread::sleep(Duration::from_millis(300));
    s.ok(&["label", "cm", "dc2", "keep=yes"]);
    s.ok(&["label", "cm", "dc2", "keep=no", "--overwrite"]);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().expect("watch output");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "timeoutSeconds not honoured"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let types: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            format!(
                "{}:{}",
                v["type"].as_str().unwrap_or(""),
                v["object"]["metadata"]["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(types, ["ADDED:dc2", "DELETED:dc2"], "{text}");

    // With bookmarks allowed, the stream ends with a BOOKMARK at the current revision.
    let out = ep
        .curl(true, &[], &format!("/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=true&resourceVersion={rv}&timeoutSeconds=1"))
        .expect("bookmark watch");
    let last: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("an event");
    assert_eq!(last["type"], "BOOKMARK", "{last}");
    let bm_rv: i64 = last["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("rv");
    assert!(bm_rv > rv.parse::<i64>().unwrap_or(0));
}

#[test]
fn generate_name_and_legacy_discovery() {
    let s = server();
    let out = s.ok_stdin(
        &["create", "-f", "-", "-o", "name"],
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"},"data":{"a":"b"}}"#,
    );
    let name = out.trim().trim_start_matches("configmap/");
    assert!(name.starts_with("gen-") && name.len() == 9, "{out}");
    assert!(
        name[4..]
            .chars()
            .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)),
        "{name}"
    );

    // Legacy discovery documents, for clients that do not ask for aggregated ones.
    let ep = s.endpoint().expect("endpoint");
    let get = |path: &str| -> serde_json::Value {
        let out = ep.curl(true, &[], path).expect("curl");
        serde_json::from_slice(&out.stdout).expect("json")
    };
    assert_eq!(get("/api")["versions"], serde_json::json!(["v1"]));
    let groups = get("/apis");
    assert!(
        groups["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g["name"] == "apps")),
        "{groups}"
    );
    let apps = get("/apis/apps/v1");
    let names: Vec<&str> = apps["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"deployments") && names.contains(&"deployments/scale"),
        "{names:?}"
    );
    let core = get("/api/v1");
    assert!(
        core["resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["name"] == "pods/log")),
        "{core}"
    );
}
