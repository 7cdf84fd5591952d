//! Table printing tests: one realistic object per case, checked against the
//! cells kube-apiserver prints for it.

use serde_json::{json, Value};

use super::format::{go_fmt_float, go_json, selector_string};
use super::jsonpath::JsonPath;
use super::*;
use crate::meta::rfc3339;

/// 2024-12-11T10:00:00Z.
const NOW: i64 = 1_733_911_200;

/// A timestamp `secs` seconds before [`NOW`].
fn ago(secs: i64) -> String {
    rfc3339(NOW - secs)
}

fn meta(name: &str, created_secs_ago: i64) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(created_secs_ago)})
}

/// Cells of `obj` must equal `expected`, and match the column count.
#[track_caller]
fn check(group: &str, kind: &str, obj: Value, expected: Value) {
    let got = cells(group, kind, &obj, NOW);
    assert_eq!(Value::Array(got.clone()), expected, "{group}/{kind}");
    assert_eq!(
        got.len(),
        columns(group, kind).len(),
        "{group}/{kind} width"
    );
}

/// Only the first `n` cells (the non-wide ones) are compared.
#[track_caller]
fn check_prefix(group: &str, kind: &str, obj: Value, expected: Value) {
    let got = cells(group, kind, &obj, NOW);
    let n = expected.as_array().map_or(0, Vec::len);
    assert_eq!(Value::Array(got[..n].to_vec()), expected, "{group}/{kind}");
}

// === HumanDuration ===

#[test]
fn human_duration_boundaries() {
    let day = 86_400;
    let year = 365 * day;
    let cases: &[(i64, &str)] = &[
        (-5, "<invalid>"),
        (-2, "<invalid>"),
        (-1, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (121, "2m1s"),
        (599, "9m59s"),
        (600, "10m"),
        (659, "10m"),
        (10_799, "179m"),
        (10_800, "3h"),
        (10_860, "3h1m"),
        (28_799, "7h59m"),
        (28_800, "8h"),
        (47 * 3600 + 3599, "47h"),
        (2 * day, "2d"),
        (2 * day + 3600, "2d1h"),
        (8 * day - 1, "7d23h"),
        (8 * day, "8d"),
        (2 * year - 1, "729d"),
        (2 * year, "2y"),
        (2 * year + day, "2y1d"),
        (8 * year - 1, "7y364d"),
        (8 * year, "8y"),
        (100 * year + 5 * day, "100y"),
    ];
    for (secs, want) in cases {
        assert_eq!(human_duration(*secs), *want, "{secs}s");
    }
}

#[test]
fn age_cells() {
    assert_eq!(age(&json!({"metadata": meta("a", 300)}), NOW), "5m");
    assert_eq!(age(&json!({"metadata": {"name": "a"}}), NOW), "<unknown>");
    let zero = json!({"metadata": {"creationTimestamp": "0001-01-01T00:00:00Z"}});
    assert_eq!(age(&zero, NOW), "<unknown>");
    let future = json!({"metadata": {"creationTimestamp": rfc3339(NOW + 30)}});
    assert_eq!(age(&future, NOW), "<invalid>");
}

// === Pod ===

fn pod(status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": meta("web-5d4f8c7b9-x2x7q", 300),
        "spec": {"nodeName": "node-1", "containers": [{"name": "nginx", "image": "nginx:1.27"}]},
        "status": status,
    })
}

fn running(name: &str, restarts: i64) -> Value {
    json!({"name": name, "ready": true, "restartCount": restarts, "started": true,
           "state": {"running": {"startedAt": ago(200)}}})
}

#[test]
fn pod_running() {
    let p = pod(json!({
        "phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}],
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [running("nginx", 0)],
    }));
    check(
        "",
        "Pod",
        p,
        json!([
            "web-5d4f8c7b9-x2x7q",
            "1/1",
            "Running",
            "0",
            "5m",
            "10.244.0.5",
            "node-1",
            "<none>",
            "<none>"
        ]),
    );
}

#[test]
fn pod_pending_unscheduled() {
    let mut p = pod(json!({"phase": "Pending"}));
    if let Some(spec) = p["spec"].as_object_mut() {
        spec.remove("nodeName");
    }
    check(
        "",
        "Pod",
        p,
        json!([
            "web-5d4f8c7b9-x2x7q",
            "0/1",
            "Pending",
            "0",
            "5m",
            "<none>",
            "<none>",
            "<none>",
            "<none>"
        ]),
    );
}

#[test]
fn pod_container_creating() {
    let p = pod(json!({"phase": "Pending", "containerStatuses": [{
        "name": "nginx", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
    check_prefix(
        "",
        "Pod",
        p,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "ContainerCreating", "0"]),
    );
}

#[test]
fn pod_crash_loop_with_last_restart() {
    let p = pod(json!({"phase": "Running", "containerStatuses": [{
        "name": "nginx", "ready": false, "restartCount": 3,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(125)}}}]}));
    check_prefix(
        "",
        "Pod",
        p,
        json!([
            "web-5d4f8c7b9-x2x7q",
            "0/1",
            "CrashLoopBackOff",
            "3 (2m5s ago)"
        ]),
    );
}

#[test]
fn pod_completed_is_marked_completed() {
    let p = pod(json!({"phase": "Succeeded", "containerStatuses": [{
        "name": "nginx", "ready": false, "restartCount": 0,
        "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(60)}}}]}));
    check_prefix(
        "",
        "Pod",
        p.clone(),
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "Completed", "0"]),
    );
    assert_eq!(
        row_conditions("", "Pod", &p),
        vec![
            json!({"type": "Completed", "status": "True", "reason": "Succeeded",
                    "message": "The pod has completed successfully."})
        ]
    );
}

#[test]
fn pod_failed_row_condition() {
    let p = pod(json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}));
    check_prefix(
        "",
        "Pod",
        p.clone(),
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "Evicted", "0"]),
    );
    assert_eq!(row_conditions("", "Pod", &p)[0]["reason"], "Failed");
    assert!(row_conditions("apps", "Deployment", &p).is_empty());
}

#[test]
fn pod_terminated_without_reason() {
    let exit = pod(json!({"phase": "Running", "containerStatuses": [{
        "name": "nginx", "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}]}));
    check_prefix(
        "",
        "Pod",
        exit,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "ExitCode:137"]),
    );
    let signal = pod(json!({"phase": "Running", "containerStatuses": [{
        "name": "nginx", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}));
    check_prefix(
        "",
        "Pod",
        signal,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "Signal:9"]),
    );
}

fn init_pod(init_statuses: Value) -> Value {
    let mut p = pod(
        json!({"phase": "Pending", "initContainerStatuses": init_statuses,
        "containerStatuses": [{"name": "nginx", "restartCount": 0,
                               "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    p["spec"]["initContainers"] = json!([
        {"name": "migrate", "image": "busybox"},
        {"name": "seed", "image": "busybox"},
    ]);
    p
}

#[test]
fn pod_init_states() {
    let waiting_init = json!({"name": "migrate", "restartCount": 0,
        "state": {"waiting": {"reason": "PodInitializing"}}});
    let cases = [
        (json!([waiting_init]), "Init:0/2"),
        (
            json!([{"name": "migrate", "restartCount": 0,
                    "state": {"waiting": {"reason": "ImagePullBackOff"}}}]),
            "Init:ImagePullBackOff",
        ),
        (
            json!([{"name": "migrate", "restartCount": 2,
                    "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]),
            "Init:Error",
        ),
        (
            json!([{"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]),
            "Init:ExitCode:2",
        ),
        (
            // Every init container done: the main containers decide.
            json!([{"name": "migrate", "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]),
            "PodInitializing",
        ),
        (
            json!([{"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 3, "signal": 15}}}]),
            "Init:Signal:15",
        ),
        (
            json!([
                {"name": "migrate", "restartCount": 0,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
                {"name": "seed", "restartCount": 0, "state": {"running": {}}},
            ]),
            "Init:1/2",
        ),
    ];
    for (statuses, want) in cases {
        let got = cells("", "Pod", &init_pod(statuses.clone()), NOW);
        assert_eq!(got[2], want, "{statuses}");
    }
}

#[test]
fn pod_init_restarts_counted_while_initializing() {
    let p = init_pod(json!([{"name": "migrate", "restartCount": 2,
        "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(30)}}}]));
    check_prefix(
        "",
        "Pod",
        p,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "Init:Error", "2 (30s ago)"]),
    );
}

#[test]
fn pod_sidecar_counts_as_container() {
    let mut p = pod(json!({
        "phase": "Running",
        "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
        "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 1,
            "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(700)}}}],
        "containerStatuses": [running("nginx", 0)],
    }));
    p["spec"]["initContainers"] =
        json!([{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]);
    check_prefix(
        "",
        "Pod",
        p,
        json!(["web-5d4f8c7b9-x2x7q", "2/2", "Running", "1 (11m ago)"]),
    );
}

#[test]
fn pod_completed_container_next_to_running_one() {
    let statuses = json!([
        running("nginx", 0),
        {"name": "job", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
    ]);
    let mut p = pod(json!({"phase": "Running", "containerStatuses": statuses,
        "conditions": [{"type": "Ready", "status": "True"}]}));
    p["spec"]["containers"] = json!([{"name": "nginx"}, {"name": "job"}]);
    check_prefix(
        "",
        "Pod",
        p.clone(),
        json!(["web-5d4f8c7b9-x2x7q", "1/2", "Running"]),
    );
    p["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
    check_prefix(
        "",
        "Pod",
        p,
        json!(["web-5d4f8c7b9-x2x7q", "1/2", "NotReady"]),
    );
}

#[test]
fn pod_terminating_and_unknown() {
    let mut p = pod(json!({"phase": "Running", "containerStatuses": [running("nginx", 0)]}));
    p["metadata"]["deletionTimestamp"] = json!(ago(0));
    check_prefix(
        "",
        "Pod",
        p.clone(),
        json!(["web-5d4f8c7b9-x2x7q", "1/1", "Terminating"]),
    );
    p["status"]["reason"] = json!("NodeLost");
    check_prefix(
        "",
        "Pod",
        p.clone(),
        json!(["web-5d4f8c7b9-x2x7q", "1/1", "Unknown"]),
    );
    // A pod that already finished keeps its final status while being deleted.
    let mut done = pod(
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "nginx",
        "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    done["metadata"]["deletionTimestamp"] = json!(ago(0));
    check_prefix(
        "",
        "Pod",
        done,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "Completed"]),
    );
}

#[test]
fn pod_scheduling_gated() {
    let p = pod(json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}));
    check_prefix(
        "",
        "Pod",
        p,
        json!(["web-5d4f8c7b9-x2x7q", "0/1", "SchedulingGated"]),
    );
}

#[test]
fn pod_wide_fields() {
    let mut p = pod(json!({
        "phase": "Running", "podIP": "10.0.0.9", "nominatedNodeName": "node-2",
        "conditions": [{"type": "www.example.com/feature-1", "status": "True"},
                       {"type": "www.example.com/feature-2", "status": "False"}],
        "containerStatuses": [running("nginx", 0)],
    }));
    p["spec"]["readinessGates"] = json!([
        {"conditionType": "www.example.com/feature-1"},
        {"conditionType": "www.example.com/feature-2"},
    ]);
    let got = cells("", "Pod", &p, NOW);
    assert_eq!(
        got[5..],
        [
            json!("10.0.0.9"),
            json!("node-1"),
            json!("node-2"),
            json!("1/2")
        ]
    );
}

#[test]
fn pod_columns() {
    let cols = columns("", "Pod");
    let names: Vec<(&str, &str, i32)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.type_.as_str(), c.priority))
        .collect();
    assert_eq!(
        names,
        [
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ]
    );
    assert_eq!(cols[0].format, "name");
    assert!(cols[0]
        .description
        .starts_with("Name must be unique within a namespace."));
    let json = serde_json::to_value(&cols[0]).unwrap_or_default();
    assert_eq!(json["type"], "string");
    assert_eq!(json["priority"], 0);
}

// === Deployment, ReplicaSet, StatefulSet, DaemonSet ===

fn deployment(status: Value) -> Value {
    json!({
        "metadata": meta("web", 3 * 86_400 + 7200),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"}},
                 "template": {"spec": {"containers": [
                     {"name": "nginx", "image": "nginx:1.27"},
                     {"name": "sidecar", "image": "busybox:1.36"}]}}},
        "status": status,
    })
}

#[test]
fn deployment_ready() {
    let d = deployment(
        json!({"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "availableReplicas": 3}),
    );
    check(
        "apps",
        "Deployment",
        d,
        json!([
            "web",
            "3/3",
            3,
            3,
            "3d2h",
            "nginx,sidecar",
            "nginx:1.27,busybox:1.36",
            "app=web,tier=fe"
        ]),
    );
}

#[test]
fn deployment_fresh_and_selectors() {
    let mut d = deployment(json!({}));
    d["spec"]["selector"] = json!({"matchExpressions": [
        {"key": "env", "operator": "NotIn", "values": ["qa", "dev"]},
        {"key": "app", "operator": "In", "values": ["web"]},
        {"key": "canary", "operator": "DoesNotExist"}]});
    check(
        "apps",
        "Deployment",
        d.clone(),
        json!([
            "web",
            "0/3",
            0,
            0,
            "3d2h",
            "nginx,sidecar",
            "nginx:1.27,busybox:1.36",
            "app in (web),!canary,env notin (dev,qa)"
        ]),
    );
    d["spec"]["selector"] = json!({"matchExpressions": [{"key": "app", "operator": "Near"}]});
    assert_eq!(cells("apps", "Deployment", &d, NOW)[7], "<invalid>");
    if let Some(spec) = d["spec"].as_object_mut() {
        spec.remove("replicas");
    }
    assert_eq!(cells("apps", "Deployment", &d, NOW)[1], "0/1");
}

#[test]
fn replica_set() {
    let rs = json!({
        "metadata": meta("web-5d4f8c7b9", 90),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f8c7b9"}},
                 "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
        "status": {"replicas": 2, "readyReplicas": 1},
    });
    check(
        "apps",
        "ReplicaSet",
        rs,
        json!([
            "web-5d4f8c7b9",
            2,
            2,
            1,
            "90s",
            "nginx",
            "nginx:1.27",
            "app=web,pod-template-hash=5d4f8c7b9"
        ]),
    );
    let bare = json!({"metadata": meta("bare", 10), "spec": {"replicas": 0}});
    check(
        "apps",
        "ReplicaSet",
        bare,
        json!(["bare", 0, 0, 0, "10s", "", "", "<none>"]),
    );
}

#[test]
fn stateful_set_and_daemon_set() {
    let sts = json!({"metadata": meta("db", 600), "spec": {"replicas": 3,
        "template": {"spec": {"containers": [{"name": "pg", "image": "postgres:17"}]}}},
        "status": {"readyReplicas": 2}});
    check(
        "apps",
        "StatefulSet",
        sts,
        json!(["db", "2/3", "10m", "pg", "postgres:17"]),
    );
    let ds = json!({"metadata": meta("agent", 60), "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"},
                              "containers": [{"name": "agent", "image": "agent:2"}]}}},
        "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                   "updatedNumberScheduled": 1, "numberAvailable": 1}});
    check(
        "apps",
        "DaemonSet",
        ds,
        json!([
            "agent",
            1,
            1,
            1,
            1,
            1,
            "kubernetes.io/os=linux",
            "60s",
            "agent",
            "agent:2",
            "app=agent"
        ]),
    );
}

// === Service ===

fn service(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("web", 45), "spec": spec, "status": status})
}

#[test]
fn service_cluster_ip() {
    let svc = service(
        json!({"clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"],
               "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
               "selector": {"app": "web"}}),
        json!({}),
    );
    check(
        "",
        "Service",
        svc,
        json!([
            "web",
            "ClusterIP",
            "10.96.12.34",
            "<none>",
            "80/TCP,53/UDP",
            "45s",
            "app=web"
        ]),
    );
}

#[test]
fn service_node_port_and_external_ips() {
    let svc = service(
        json!({"type": "NodePort", "clusterIPs": ["10.96.0.20"], "externalIPs": ["192.0.2.7", "192.0.2.8"],
               "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
        json!({}),
    );
    check(
        "",
        "Service",
        svc,
        json!([
            "web",
            "NodePort",
            "10.96.0.20",
            "192.0.2.7,192.0.2.8",
            "80:30080/TCP",
            "45s",
            "<none>"
        ]),
    );
}

#[test]
fn service_load_balancer() {
    let spec = json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.30"],
                      "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]});
    let pending = service(spec.clone(), json!({"loadBalancer": {}}));
    assert_eq!(cells("", "Service", &pending, NOW)[3], "<pending>");
    let ready = service(
        spec.clone(),
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.1"}]}}),
    );
    assert_eq!(
        cells("", "Service", &ready, NOW)[3],
        "203.0.113.1,203.0.113.9,lb.example.com"
    );
    let mut both = ready.clone();
    both["spec"]["externalIPs"] = json!(["198.51.100.4"]);
    assert_eq!(
        cells("", "Service", &both, NOW)[3],
        "203.0.113.1,203.0.113.9,lb.example.com,198.51.100.4"
    );
    let mut with_ext_only = pending;
    with_ext_only["spec"]["externalIPs"] = json!(["198.51.100.4"]);
    assert_eq!(cells("", "Service", &with_ext_only, NOW)[3], "198.51.100.4");
}

#[test]
fn service_headless_external_name_and_defaults() {
    let headless = service(
        json!({"clusterIP": "None", "clusterIPs": ["None"], "selector": {"app": "db"}}),
        json!({}),
    );
    check(
        "",
        "Service",
        headless,
        json!([
            "web",
            "ClusterIP",
            "None",
            "<none>",
            "<none>",
            "45s",
            "app=db"
        ]),
    );
    let ext = service(
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    check(
        "",
        "Service",
        ext,
        json!([
            "web",
            "ExternalName",
            "<none>",
            "db.example.com",
            "<none>",
            "45s",
            "<none>"
        ]),
    );
    let legacy = service(
        json!({"clusterIP": "10.96.0.1", "ports": [{"port": 443}]}),
        json!({}),
    );
    check_prefix(
        "",
        "Service",
        legacy,
        json!(["web", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]),
    );
}

// === Endpoints, EndpointSlice ===

#[test]
fn endpoints_cells() {
    let ep = json!({"metadata": meta("web", 30), "subsets": [{
        "addresses": [{"ip": "10.244.0.5"}, {"ip": "10.244.0.6"}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]});
    check(
        "",
        "Endpoints",
        ep,
        json!(["web", "10.244.0.5:8080,10.244.0.6:8080", "30s"]),
    );
    let many = json!({"metadata": meta("big", 30), "subsets": [{
        "addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}, {"ip": "fd00::3"}],
        "ports": [{"port": 80}, {"port": 443}]}]});
    check(
        "",
        "Endpoints",
        many,
        json!([
            "big",
            "10.0.0.1:80,10.0.0.2:80,[fd00::3]:80 + 3 more...",
            "30s"
        ]),
    );
    let headless =
        json!({"metadata": meta("hl", 30), "subsets": [{"addresses": [{"ip": "10.0.0.7"}]}]});
    check("", "Endpoints", headless, json!(["hl", "10.0.0.7", "30s"]));
    let empty = json!({"metadata": meta("none", 30)});
    check("", "Endpoints", empty, json!(["none", "<none>", "30s"]));
}

#[test]
fn endpoint_slice_cells() {
    let es = json!({"metadata": meta("web-abc12", 30), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics"}, {}],
        "endpoints": [{"addresses": ["10.244.0.5"]}, {"addresses": ["10.244.0.6"]}]});
    check(
        "discovery.k8s.io",
        "EndpointSlice",
        es,
        json!([
            "web-abc12",
            "IPv4",
            "8080,metrics,*",
            "10.244.0.5,10.244.0.6",
            "30s"
        ]),
    );
    let big = json!({"metadata": meta("big", 30), "addressType": "IPv4",
        "ports": [{"port": 1}, {"port": 2}, {"port": 3}, {"port": 4}],
        "endpoints": [{"addresses": ["a", "b"]}, {"addresses": ["c", "d", "e"]}]});
    check(
        "discovery.k8s.io",
        "EndpointSlice",
        big,
        json!([
            "big",
            "IPv4",
            "1,2,3 + 1 more...",
            "a,b,c + 2 more...",
            "30s"
        ]),
    );
    let empty = json!({"metadata": meta("empty", 30), "addressType": "IPv6"});
    check(
        "discovery.k8s.io",
        "EndpointSlice",
        empty,
        json!(["empty", "IPv6", "<unset>", "<unset>", "30s"]),
    );
}

// === Node ===

fn node(labels: Value, conditions: Value, unschedulable: bool) -> Value {
    json!({
        "metadata": {"name": "node-1", "creationTimestamp": ago(10 * 86_400), "labels": labels},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "172.18.0.2"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.8.0-45-generic", "containerRuntimeVersion": "containerd://1.7.22"},
        },
    })
}

#[test]
fn node_ready_control_plane() {
    let n = node(
        json!({"node-role.kubernetes.io/control-plane": "", "kubernetes.io/hostname": "node-1"}),
        json!([{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}]),
        false,
    );
    check(
        "",
        "Node",
        n,
        json!([
            "node-1",
            "Ready",
            "control-plane",
            "10d",
            "v1.32.0",
            "172.18.0.2",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.8.0-45-generic",
            "containerd://1.7.22"
        ]),
    );
}

#[test]
fn node_status_variants() {
    let labels = json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/infra": "",
                        "kubernetes.io/role": "edge", "node-role.kubernetes.io/": "x"});
    let cordoned = node(labels, json!([{"type": "Ready", "status": "True"}]), true);
    check_prefix(
        "",
        "Node",
        cordoned,
        json!(["node-1", "Ready,SchedulingDisabled", "edge,infra,worker"]),
    );
    let not_ready = node(
        json!({}),
        json!([{"type": "Ready", "status": "Unknown"}]),
        false,
    );
    check_prefix(
        "",
        "Node",
        not_ready,
        json!(["node-1", "NotReady", "<none>"]),
    );
    let mut fresh = node(json!(null), json!([]), true);
    fresh["status"]["nodeInfo"] = json!({});
    fresh["status"]["addresses"] = json!([{"type": "ExternalIP", "address": "203.0.113.5"}]);
    check(
        "",
        "Node",
        fresh,
        json!([
            "node-1",
            "Unknown,SchedulingDisabled",
            "<none>",
            "10d",
            "",
            "<none>",
            "203.0.113.5",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]),
    );
}

// === Event ===

fn event() -> Value {
    json!({
        "metadata": meta("web-5d4f8c7b9-x2x7q.17f1a2b3c4d5e6f7", 600),
        "involvedObject": {"kind": "Pod", "name": "web-5d4f8c7b9-x2x7q", "namespace": "default",
                           "fieldPath": "spec.containers{nginx}"},
        "reason": "Pulled",
        "message": "Successfully pulled image \"nginx:1.27\" in 1.2s\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600),
        "lastTimestamp": ago(30),
        "count": 4,
        "type": "Normal",
    })
}

#[test]
fn event_core() {
    check(
        "",
        "Event",
        event(),
        json!([
            "30s",
            "Normal",
            "Pulled",
            "pod/web-5d4f8c7b9-x2x7q",
            "spec.containers{nginx}",
            "kubelet, node-1",
            "Successfully pulled image \"nginx:1.27\" in 1.2s",
            "10m",
            4,
            "web-5d4f8c7b9-x2x7q.17f1a2b3c4d5e6f7"
        ]),
    );
}

#[test]
fn event_new_style_fields() {
    let mut e = event();
    if let Some(o) = e.as_object_mut() {
        for key in ["firstTimestamp", "lastTimestamp", "count", "source"] {
            o.remove(key);
        }
    }
    e["eventTime"] = json!("2024-12-11T09:57:30.123456Z");
    e["reportingComponent"] = json!("default-scheduler");
    e["involvedObject"] = json!({"kind": "Node"});
    check_prefix(
        "",
        "Event",
        e.clone(),
        json!(["2m30s", "Normal", "Pulled", "node", "", "default-scheduler"]),
    );
    assert_eq!(cells("", "Event", &e, NOW)[8], 1);
    e["series"] = json!({"count": 7, "lastObservedTime": "2024-12-11T09:59:50.000000Z"});
    let got = cells("", "Event", &e, NOW);
    assert_eq!(
        (got[0].clone(), got[7].clone(), got[8].clone()),
        (json!("10s"), json!("2m30s"), json!(7))
    );
}

#[test]
fn event_events_k8s_io() {
    let e = json!({
        "metadata": meta("web.1", 120),
        "regarding": {"kind": "Deployment", "name": "web"},
        "reason": "ScalingReplicaSet",
        "note": "Scaled up replica set web-5d4f8c7b9 to 3",
        "type": "Normal",
        "eventTime": null,
        "deprecatedFirstTimestamp": ago(120),
        "deprecatedLastTimestamp": ago(120),
        "deprecatedCount": 1,
        "deprecatedSource": {"component": "deployment-controller"},
        "reportingController": "deployment-controller",
    });
    check(
        "events.k8s.io",
        "Event",
        e,
        json!([
            "2m",
            "Normal",
            "ScalingReplicaSet",
            "deployment/web",
            "",
            "deployment-controller",
            "Scaled up replica set web-5d4f8c7b9 to 3",
            "2m",
            1,
            "web.1"
        ]),
    );
    let names: Vec<String> = columns("", "Event").into_iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ]
    );
}

// === Small kinds ===

#[test]
fn namespace_secret_configmap_serviceaccount_lease() {
    let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(86_400)},
                    "status": {"phase": "Active"}});
    check("", "Namespace", ns, json!(["kube-system", "Active", "24h"]));
    let terminating = json!({"metadata": meta("old", 5), "status": {"phase": "Terminating"}});
    check(
        "",
        "Namespace",
        terminating,
        json!(["old", "Terminating", "5s"]),
    );

    let secret = json!({"metadata": meta("tls", 60), "type": "kubernetes.io/tls",
                        "data": {"tls.crt": "Zm9v", "tls.key": "YmFy"}});
    check(
        "",
        "Secret",
        secret,
        json!(["tls", "kubernetes.io/tls", 2, "60s"]),
    );
    let opaque = json!({"metadata": meta("empty", 60), "type": "Opaque"});
    check("", "Secret", opaque, json!(["empty", "Opaque", 0, "60s"]));

    let cm = json!({"metadata": meta("cfg", 60), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    check("", "ConfigMap", cm, json!(["cfg", 3, "60s"]));

    let sa = json!({"metadata": meta("default", 60), "secrets": [{"name": "default-token"}]});
    check("", "ServiceAccount", sa, json!(["default", 1, "60s"]));
    let sa_bare = json!({"metadata": meta("builder", 60)});
    check("", "ServiceAccount", sa_bare, json!(["builder", 0, "60s"]));

    let lease = json!({"metadata": meta("kube-controller-manager", 3600),
                       "spec": {"holderIdentity": "node-1_4f0c", "leaseDurationSeconds": 15}});
    check(
        "coordination.k8s.io",
        "Lease",
        lease,
        json!(["kube-controller-manager", "node-1_4f0c", "60m"]),
    );
    let free = json!({"metadata": meta("free", 3600), "spec": {}});
    check(
        "coordination.k8s.io",
        "Lease",
        free,
        json!(["free", "", "60m"]),
    );
}

#[test]
fn scale_and_replication_controller() {
    let scale = json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta("web", 60),
                       "spec": {"replicas": 5}, "status": {"replicas": 3, "selector": "app=web"}});
    check("autoscaling", "Scale", scale, json!(["web", 5, 3, "60s"]));
    assert_eq!(columns("autoscaling", "Scale")[0].format, "");
    let rc = json!({"metadata": meta("legacy", 60), "spec": {"replicas": 2, "selector": {"app": "legacy"},
        "template": {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}},
        "status": {"replicas": 2, "readyReplicas": 2}});
    check(
        "",
        "ReplicationController",
        rc,
        json!(["legacy", 2, 2, 2, "60s", "app", "app:1", "app=legacy"]),
    );
}

#[test]
fn jobs_and_cron_jobs() {
    let job = json!({"metadata": meta("pi", 300),
        "spec": {"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                 "template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}]}}},
        "status": {"succeeded": 1, "startTime": ago(290), "completionTime": ago(250),
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}});
    check(
        "batch",
        "Job",
        job,
        json!([
            "pi",
            "Complete",
            "1/1",
            "40s",
            "5m",
            "pi",
            "perl:5.34",
            "batch.kubernetes.io/controller-uid=u1"
        ]),
    );
    let running = json!({"metadata": meta("work", 300), "spec": {"parallelism": 3},
                         "status": {"succeeded": 0, "startTime": ago(200)}});
    check_prefix(
        "batch",
        "Job",
        running,
        json!(["work", "Running", "0/1 of 3", "3m20s"]),
    );

    let cj = json!({"metadata": meta("nightly", 86_400),
        "spec": {"schedule": "0 2 * * *", "suspend": false,
                 "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "backup", "image": "backup:1"}]}}}}},
        "status": {"active": [{"name": "nightly-1"}], "lastScheduleTime": ago(3600)}});
    check(
        "batch",
        "CronJob",
        cj,
        json!([
            "nightly",
            "0 2 * * *",
            "<none>",
            "False",
            1,
            "60m",
            "24h",
            "backup",
            "backup:1",
            "<none>"
        ]),
    );
}

#[test]
fn pod_template() {
    let pt = json!({"metadata": meta("tmpl", 60), "template": {"metadata": {"labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]}}});
    check("", "PodTemplate", pt, json!(["tmpl", "c", "i", "a=1,b=2"]));
}

// === Default convertor (CRDs and kinds without a printer) ===

#[test]
fn default_convertor() {
    let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-12-01T08:30:00Z"}});
    check(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        crd,
        json!(["widgets.example.com", "2024-12-01T08:30:00Z"]),
    );
    let cols = columns("apiextensions.k8s.io", "CustomResourceDefinition");
    assert_eq!(
        (cols[1].name.as_str(), cols[1].type_.as_str()),
        ("Created At", "date")
    );
    assert_eq!(cols[0].format, "name");
    let offset =
        json!({"metadata": {"name": "x", "creationTimestamp": "2024-12-01T09:30:00+01:00"}});
    check(
        "rbac.authorization.k8s.io",
        "Role",
        offset,
        json!(["x", "2024-12-01T08:30:00Z"]),
    );
    check(
        "example.com",
        "Widget",
        json!({"metadata": {"name": "w"}}),
        json!(["w", "0001-01-01T00:00:00Z"]),
    );
}

// === CRD additionalPrinterColumns ===

fn widget() -> Value {
    json!({
        "apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w1", "creationTimestamp": ago(4 * 3600),
                     "labels": {"app": "shop", "app.kubernetes.io/name": "widget"}},
        "spec": {"replicas": 3, "size": 2.5, "enabled": true, "tags": ["a", "b", "c"],
                 "owner": {"team": "core", "id": 7}, "nothing": null, "ratio": 1000000.0},
        "status": {"conditions": [
            {"type": "Available", "status": "True", "lastTransitionTime": ago(50)},
            {"type": "Ready", "status": "False", "reason": "Waiting"}],
            "observed": 4},
    })
}

fn column(name: &str, type_: &str, path: &str) -> Value {
    json!({"name": name, "type": type_, "jsonPath": path})
}

/// One printer column's cell for [`widget`].
#[track_caller]
fn check_column(type_: &str, path: &str, expected: Value) {
    let cols = [column("C", type_, path)];
    let got = crd_cells(&cols, &widget(), NOW);
    assert_eq!(got, vec![json!("w1"), expected], "{type_} {path}");
}

#[test]
fn crd_column_values() {
    let cases: Vec<(&str, &str, Value)> = vec![
        ("integer", ".spec.replicas", json!(3)),
        ("integer", ".spec.size", json!(2)),
        ("integer", ".spec.enabled", Value::Null),
        ("number", ".spec.size", json!(2.5)),
        ("number", ".spec.replicas", json!(3)),
        ("boolean", ".spec.enabled", json!(true)),
        ("boolean", ".spec.replicas", Value::Null),
        ("string", ".spec.replicas", json!("3")),
        ("string", ".spec.enabled", json!("true")),
        ("string", ".spec.size", json!("2.5")),
        ("string", ".spec.ratio", json!("1e+06")),
        ("string", ".spec.owner", json!(r#"{"id":7,"team":"core"}"#)),
        ("string", ".spec.tags", json!(r#"["a","b","c"]"#)),
        ("string", ".spec.tags[1]", json!("b")),
        ("string", ".spec.tags[-1]", json!("c")),
        ("string", ".spec.tags[5]", Value::Null),
        ("string", ".spec.tags[*]", json!("a")),
        ("string", ".spec.nothing", json!("<no value>")),
        ("integer", ".spec.nothing", Value::Null),
        ("string", ".spec.missing", Value::Null),
        ("string", ".metadata.labels.app", json!("shop")),
        (
            "string",
            ".metadata.labels.app\\.kubernetes\\.io/name",
            json!("widget"),
        ),
        (
            "string",
            ".status.conditions[?(@.type==\"Ready\")].status",
            json!("False"),
        ),
        (
            "string",
            ".status.conditions[?(@.type=='Available')].lastTransitionTime",
            json!(ago(50)),
        ),
        (
            "string",
            ".status.conditions[?(@.type==\"Gone\")].status",
            Value::Null,
        ),
        (
            "string",
            ".status.conditions[?(@.reason)].reason",
            json!("Waiting"),
        ),
        (
            "string",
            ".status.conditions[?(@.type==5)].status",
            Value::Null,
        ),
        ("string", ".spec.owner['team']", json!("core")),
        ("integer", ".status.observed", json!(4)),
        ("date", ".metadata.creationTimestamp", json!("4h")),
        (
            "date",
            ".status.conditions[0].lastTransitionTime",
            json!("50s"),
        ),
        ("date", ".spec.tags[0]", json!("<invalid>")),
        ("date", ".spec.replicas", Value::Null),
        ("string", ".spec..team", json!("core")),
    ];
    for (type_, path, expected) in cases {
        check_column(type_, path, expected);
    }
}

#[test]
fn crd_columns_default_age() {
    let cols = crd_columns(&[]);
    let summary: Vec<(&str, &str, &str)> = cols
        .iter()
        .map(|c| (c.name.as_str(), c.type_.as_str(), c.format.as_str()))
        .collect();
    assert_eq!(summary, [("Name", "string", "name"), ("Age", "date", "")]);
    assert!(cols[1]
        .description
        .starts_with("CreationTimestamp is a timestamp"));
    assert_eq!(
        crd_cells(&[], &widget(), NOW),
        vec![json!("w1"), json!("4h")]
    );
}

#[test]
fn crd_columns_declared() {
    let declared = [
        json!({"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas", "description": "Desired size"}),
        json!({"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "priority": 1}),
        json!({"name": "Size", "type": "number", "format": "float", "jsonPath": ".spec.size"}),
    ];
    let cols = crd_columns(&declared);
    assert_eq!(cols.len(), 4);
    assert_eq!(cols[1].description, "Desired size");
    assert_eq!(
        cols[2].description,
        "Custom resource definition column (in JSONPath format): .status.conditions[?(@.type==\"Ready\")].status"
    );
    assert_eq!((cols[2].priority, cols[3].format.as_str()), (1, "float"));
    assert_eq!(
        crd_cells(&declared, &widget(), NOW),
        vec![json!("w1"), json!(3), json!("False"), json!(2.5)]
    );
}

#[test]
fn crd_columns_stop_at_unparsable_path() {
    let declared = [
        column("Replicas", "integer", ".spec.replicas"),
        column("Broken", "string", ".spec.tags[1"),
        column("After", "string", ".spec.size"),
    ];
    assert_eq!(crd_columns(&declared).len(), 2);
    assert_eq!(
        crd_cells(&declared, &widget(), NOW),
        vec![json!("w1"), json!(3)]
    );
}

// === JSONPath and formatting details ===

#[test]
fn jsonpath_results() {
    let data = json!({"items": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}],
                      "m": {"a": {"x": 1}, "b": {"x": 2}}, "u": 18446744073709551615u64});
    let cases: &[(&str, Option<Value>)] = &[
        ("{.items[1:3].n}", Some(json!([2, 3]))),
        ("{.items[::2].n}", Some(json!([1, 3]))),
        ("{.items[-2:].n}", Some(json!([3, 4]))),
        ("{.items[0,2].n}", Some(json!([1, 3]))),
        ("{.items[?(@.n>2)].n}", Some(json!([3, 4]))),
        ("{.items[?(@.n<=2)].n}", Some(json!([1, 2]))),
        ("{.items[?(@.n!=2)].n}", Some(json!([1, 3, 4]))),
        ("{.m.*.x}", Some(json!([1, 2]))),
        ("{..x}", Some(json!([1, 2]))),
        ("{$.items[0].n}", Some(json!([1]))),
        ("{.items[2:2]}", Some(json!([]))),
        ("{.items[9]}", None),
        ("{.m[0]}", None),
        ("{.items[?(@.n=='1')]}", None),
        ("{.u}", Some(json!([18446744073709551615u64]))),
        ("{range}", None),
    ];
    for (path, expected) in cases {
        let parsed = JsonPath::parse(path);
        let got = parsed
            .ok()
            .and_then(|p| p.first_results(&data))
            .map(|vs| Value::Array(vs.into_iter().map(|v| v.into_owned()).collect()));
        assert_eq!(&got, expected, "{path}");
    }
}

#[test]
fn jsonpath_parse_errors() {
    for bad in [
        "{.a[1}",
        "{.a",
        "{.a[?(@.b==1]}",
        "{.a[x]}",
        "{.a[1:2:3:4]}",
        "{....a}",
        "{#}",
        "{'abc}",
    ] {
        assert!(JsonPath::parse(bad).is_err(), "{bad}");
    }
    assert!(JsonPath::parse("{.a['b']}").is_ok());
    assert!(JsonPath::parse("{.a[?(@.b == \"x\\\"y\")]}").is_ok());
}

#[test]
fn go_formatting() {
    let floats: &[(f64, &str)] = &[
        (2.5, "2.5"),
        (100.0, "100"),
        (123_456.0, "123456"),
        (1_234_567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-3.25, "-3.25"),
    ];
    for (f, want) in floats {
        assert_eq!(go_fmt_float(*f), *want, "{f}");
    }
    assert_eq!(
        go_json(
            &json!({"z": [1, 2.5, 1e21, 1e-7, "<a&b>"], "a": null, "m": {"y": true, "x": false}})
        ),
        r#"{"a":null,"m":{"x":false,"y":true},"z":[1,2.5,1e+21,1e-7,"\u003ca\u0026b\u003e"]}"#
    );
}

#[test]
fn label_selector_strings() {
    let cases: &[(Value, Result<&str, ()>)] = &[
        (json!(null), Ok("")),
        (json!({}), Ok("")),
        (json!({"matchLabels": {"b": "2", "a": "1"}}), Ok("a=1,b=2")),
        (
            json!({"matchExpressions": [{"key": "k", "operator": "Exists"}]}),
            Ok("k"),
        ),
        (
            json!({"matchExpressions": [{"key": "k", "operator": "In"}]}),
            Err(()),
        ),
        (
            json!({"matchExpressions": [{"key": "k", "operator": "Exists", "values": ["v"]}]}),
            Err(()),
        ),
    ];
    for (sel, want) in cases {
        let sel_opt = (!sel.is_null()).then_some(sel);
        assert_eq!(
            selector_string(sel_opt).as_deref(),
            want.as_deref(),
            "{sel}"
        );
    }
}
