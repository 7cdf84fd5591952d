#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;
use crate::errors::FieldErrorKind;

// === helpers ===

fn defaulted(group: &str, kind: &str, mut obj: Value) -> Value {
    apply_defaults(group, kind, &mut obj);
    obj
}

/// Display strings of the errors for `obj` (defaults applied first, like the
/// apiserver does), create when `old` is None.
fn errors(group: &str, kind: &str, obj: Value, old: Option<Value>) -> Vec<String> {
    let obj = defaulted(group, kind, obj);
    let old = old.map(|o| defaulted(group, kind, o));
    validate(group, kind, &obj, old.as_ref())
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_has(errs: &[String], expected: &str) {
    assert!(
        errs.iter().any(|e| e == expected),
        "expected error\n  {expected}\nin\n  {}",
        errs.join("\n  ")
    );
}

fn assert_clean(group: &str, kind: &str, obj: Value) {
    let errs = errors(group, kind, obj, None);
    assert!(errs.is_empty(), "unexpected errors: {errs:#?}");
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}
            }
        }
    })
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"run": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}
    })
}

fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}
    })
}

fn with(mut v: Value, f: impl FnOnce(&mut Value)) -> Value {
    f(&mut v);
    v
}

fn deploy_errs(f: impl FnOnce(&mut Value)) -> Vec<String> {
    errors("apps", "Deployment", with(deployment(), f), None)
}

fn pod_errs(f: impl FnOnce(&mut Value)) -> Vec<String> {
    errors("", "Pod", with(pod(), f), None)
}

fn svc_errs(f: impl FnOnce(&mut Value)) -> Vec<String> {
    errors("", "Service", with(service(), f), None)
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

// === defaults ===

#[test]
fn minimal_deployment_defaults_match_a_real_apiserver() {
    // The object `kubectl create deployment web --image=nginx:1.25 --replicas=3` sends.
    let sent = json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "resources": {}}]}
            },
            "strategy": {}
        },
        "status": {}
    });
    let expected = json!({
        "kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": 3,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                "type": "RollingUpdate"
            },
            "template": {
                "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "image": "nginx:1.25",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "nginx",
                        "resources": {},
                        "terminationMessagePath": "/dev/termination-message",
                        "terminationMessagePolicy": "File"
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30
                }
            }
        },
        "status": {}
    });
    assert_eq!(defaulted("apps", "Deployment", sent), expected);
}

#[test]
fn deployment_yaml_without_template_metadata_gets_null_creation_timestamp_and_replicas() {
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"template": {"spec": {"containers": []}}}}),
    );
    assert_eq!(d["spec"]["replicas"], json!(1));
    assert_eq!(
        d["spec"]["template"]["metadata"],
        json!({"creationTimestamp": null})
    );
}

#[test]
fn deployment_recreate_and_explicit_values_are_kept() {
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"replicas": 0, "revisionHistoryLimit": 2, "strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(d["spec"]["replicas"], json!(0));
    assert_eq!(d["spec"]["revisionHistoryLimit"], json!(2));
    let d = defaulted(
        "apps",
        "Deployment",
        json!({"spec": {"strategy": {"rollingUpdate": {"maxSurge": 1}}}}),
    );
    assert_eq!(
        d["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}})
    );
}

#[test]
fn replica_set_defaults() {
    let rs = defaulted(
        "apps",
        "ReplicaSet",
        json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "busybox:1"}]}}}}),
    );
    assert_eq!(rs["spec"]["replicas"], json!(1));
    assert_eq!(
        rs["spec"]["template"]["spec"]["restartPolicy"],
        json!("Always")
    );
    assert!(rs["spec"]["template"]["spec"]
        .get("enableServiceLinks")
        .is_none());
    assert!(rs["spec"]["template"]["spec"].get("tolerations").is_none());
    assert!(rs["spec"].get("strategy").is_none());
}

#[test]
fn minimal_pod_defaults_include_admission_plugins() {
    // `kubectl run nginx --image=nginx`.
    let sent = json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {"name": "nginx", "creationTimestamp": null, "labels": {"run": "nginx"}},
        "spec": {
            "containers": [{"name": "nginx", "image": "nginx", "resources": {}}],
            "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"
        },
        "status": {}
    });
    let spec = defaulted("", "Pod", sent)["spec"].clone();
    let expected = json!({
        "containers": [{
            "image": "nginx",
            "imagePullPolicy": "Always",
            "name": "nginx",
            "resources": {},
            "terminationMessagePath": "/dev/termination-message",
            "terminationMessagePolicy": "File"
        }],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": true,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}
        ]
    });
    assert_eq!(spec, expected);
}

#[test]
fn pod_requests_default_from_limits_in_canonical_form() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["containers"][0]["resources"] = json!({"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"memory": "100Mi"}});
        }),
    );
    assert_eq!(
        p["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"memory": "100Mi", "cpu": "500m"}})
    );
    assert_eq!(
        initial_status("", "Pod", &p),
        Some(json!({"phase": "Pending", "qosClass": "Burstable"}))
    );
}

#[test]
fn pod_qos_classes() {
    let with_res = |res: Value| {
        defaulted(
            "",
            "Pod",
            with(pod(), |p| p["spec"]["containers"][0]["resources"] = res),
        )
    };
    let cases = [
        (json!({}), "BestEffort"),
        (
            json!({"limits": {"cpu": "1", "memory": "1Gi"}}),
            "Guaranteed",
        ),
        (
            json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}),
            "Burstable",
        ),
        (json!({"requests": {"cpu": "100m"}}), "Burstable"),
        (
            json!({"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": "1", "memory": "1Gi"}}),
            "Guaranteed",
        ),
    ];
    for (res, qos) in cases {
        let p = with_res(res.clone());
        assert_eq!(
            initial_status("", "Pod", &p).unwrap()["qosClass"],
            json!(qos),
            "{res}"
        );
    }
}

#[test]
fn pod_tolerations_service_account_and_priority_respect_what_is_set() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["tolerations"] = json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}]);
            p["spec"]["serviceAccount"] = json!("builder");
            p["spec"]["priorityClassName"] = json!("system-node-critical");
        }),
    );
    let tols = p["spec"]["tolerations"].as_array().unwrap();
    assert_eq!(tols.len(), 2);
    assert_eq!(tols[1]["key"], json!("node.kubernetes.io/unreachable"));
    assert_eq!(p["spec"]["serviceAccountName"], json!("builder"));
    assert_eq!(p["spec"]["serviceAccount"], json!("builder"));
    assert_eq!(p["spec"]["priority"], json!(2_000_001_000));
    // A wildcard toleration (empty key and effect) covers both taints.
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["tolerations"] = json!([{"operator": "Exists"}])
        }),
    );
    assert_eq!(p["spec"]["tolerations"].as_array().unwrap().len(), 1);
}

#[test]
fn pod_probes_lifecycle_env_and_ports_defaults() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["containers"][0]["livenessProbe"] = json!({"httpGet": {"port": 80}});
            p["spec"]["containers"][0]["readinessProbe"] =
                json!({"grpc": {"port": 9000}, "periodSeconds": 5});
            p["spec"]["containers"][0]["lifecycle"] =
                json!({"preStop": {"httpGet": {"port": 80, "path": "/q"}}});
            p["spec"]["containers"][0]["env"] =
                json!([{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]);
            p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}]);
        }),
    );
    let c = &p["spec"]["containers"][0];
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        c["readinessProbe"]["grpc"],
        json!({"port": 9000, "service": ""})
    );
    assert_eq!(c["readinessProbe"]["periodSeconds"], json!(5));
    assert_eq!(
        c["lifecycle"]["preStop"]["httpGet"],
        json!({"port": 80, "path": "/q", "scheme": "HTTP"})
    );
    assert_eq!(
        c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"],
        json!("v1")
    );
    assert_eq!(c["ports"][0]["protocol"], json!("TCP"));
}

#[test]
fn volume_defaults() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["volumes"] = json!([
                {"name": "scratch"},
                {"name": "cfg", "configMap": {"name": "c"}},
                {"name": "sec", "secret": {"secretName": "s", "defaultMode": 256}},
                {"name": "host", "hostPath": {"path": "/tmp"}},
                {"name": "info", "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                {"name": "proj", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
            ]);
        }),
    );
    let v = &p["spec"]["volumes"];
    assert_eq!(v[0], json!({"name": "scratch", "emptyDir": {}}));
    assert_eq!(v[1]["configMap"]["defaultMode"], json!(420));
    assert_eq!(v[2]["secret"]["defaultMode"], json!(256));
    assert_eq!(v[3]["hostPath"]["type"], json!(""));
    assert_eq!(v[4]["downwardAPI"]["defaultMode"], json!(420));
    assert_eq!(
        v[4]["downwardAPI"]["items"][0]["fieldRef"]["apiVersion"],
        json!("v1")
    );
    assert_eq!(
        v[5]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        json!(3600)
    );
}

#[test]
fn host_network_pods_get_host_ports() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["hostNetwork"] = json!(true);
            p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 8080}]);
        }),
    );
    assert_eq!(
        p["spec"]["containers"][0]["ports"][0]["hostPort"],
        json!(8080)
    );
}

#[test]
fn image_pull_policy_follows_the_tag() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("library/nginx", "Always"),
        ("docker.io/library/nginx:1.25-alpine", "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v2", "IfNotPresent"),
        (
            "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "IfNotPresent",
        ),
        (
            "nginx:latest@sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "Always",
        ),
        ("slipway/demo:v1", "IfNotPresent"),
        ("Nginx", "IfNotPresent"),
        ("nginx:bad tag", "IfNotPresent"),
        ("", "IfNotPresent"),
    ];
    for (image, policy) in cases {
        let p = defaulted(
            "",
            "Pod",
            with(pod(), |p| {
                p["spec"]["containers"][0]["image"] = json!(image)
            }),
        );
        assert_eq!(
            p["spec"]["containers"][0]["imagePullPolicy"],
            json!(policy),
            "{image}"
        );
    }
}

#[test]
fn explicit_image_pull_policy_is_kept() {
    let p = defaulted(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["containers"][0]["imagePullPolicy"] = json!("Never")
        }),
    );
    assert_eq!(
        p["spec"]["containers"][0]["imagePullPolicy"],
        json!("Never")
    );
}

#[test]
fn quantities_are_stored_canonically() {
    let cases = [
        ("0.5", "500m"),
        ("1000", "1k"),
        ("1500", "1500"),
        ("1500000", "1500k"),
        ("1.5", "1500m"),
        ("1000m", "1"),
        ("0.0001", "1m"),
        ("2", "2"),
        ("0", "0"),
        ("1024Mi", "1Gi"),
        ("100Mi", "100Mi"),
        ("0.5Gi", "512Mi"),
        ("1536Ki", "1536Ki"),
        ("512", "512"),
        ("1e3", "1e3"),
        ("12e1", "120"),
        ("1G", "1G"),
    ];
    for (input, want) in cases {
        let q = quantity::Quantity::parse(input).unwrap();
        assert_eq!(q.round_up_milli().canonical(), want, "{input}");
    }
    assert!(quantity::Quantity::parse("1.2.3").is_none());
    assert!(quantity::Quantity::parse("12Q").is_none());
}

#[test]
fn service_defaults_per_type() {
    // The object `kubectl expose deployment web --type=NodePort --port=80` sends.
    let s = defaulted(
        "",
        "Service",
        json!({"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "selector": {"app": "web"}, "type": "NodePort"}}),
    );
    assert_eq!(
        s["spec"],
        json!({
            "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "selector": {"app": "web"},
            "type": "NodePort",
            "sessionAffinity": "None",
            "externalTrafficPolicy": "Cluster",
            "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack",
            "ipFamilies": ["IPv4"]
        })
    );
    let s = defaulted("", "Service", service());
    assert_eq!(s["spec"]["type"], json!("ClusterIP"));
    assert_eq!(
        s["spec"]["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert!(s["spec"].get("externalTrafficPolicy").is_none());
    let s = defaulted(
        "",
        "Service",
        with(service(), |s| s["spec"]["type"] = json!("LoadBalancer")),
    );
    assert_eq!(s["spec"]["allocateLoadBalancerNodePorts"], json!(true));
    assert_eq!(s["spec"]["externalTrafficPolicy"], json!("Cluster"));
    let s = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}),
    );
    assert_eq!(
        s["spec"],
        json!({"type": "ExternalName", "externalName": "example.com", "sessionAffinity": "None"})
    );
}

#[test]
fn service_affinity_cluster_ip_and_headless_defaults() {
    let s = defaulted(
        "",
        "Service",
        with(service(), |s| {
            s["spec"]["sessionAffinity"] = json!("ClientIP")
        }),
    );
    assert_eq!(
        s["spec"]["sessionAffinityConfig"],
        json!({"clientIP": {"timeoutSeconds": 10800}})
    );
    let s = defaulted(
        "",
        "Service",
        with(service(), |s| s["spec"]["clusterIP"] = json!("10.96.0.10")),
    );
    assert_eq!(s["spec"]["clusterIPs"], json!(["10.96.0.10"]));
    assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
    let s = defaulted(
        "",
        "Service",
        json!({"spec": {"clusterIP": "None", "ports": [{"port": 80, "targetPort": "http"}]}}),
    );
    assert_eq!(s["spec"]["ipFamilyPolicy"], json!("RequireDualStack"));
    assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
    assert_eq!(s["spec"]["ports"][0]["targetPort"], json!("http"));
    let s = defaulted(
        "",
        "Service",
        with(service(), |s| s["spec"]["clusterIP"] = json!("None")),
    );
    assert_eq!(s["spec"]["ipFamilyPolicy"], json!("SingleStack"));
    assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
}

#[test]
fn other_kind_defaults() {
    let ns = defaulted("", "Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "team-a"})
    );
    assert_eq!(ns["spec"], json!({"finalizers": ["kubernetes"]}));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    let terminating = defaulted(
        "",
        "Namespace",
        json!({"metadata": {"name": "x", "deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {}, "status": {"phase": "Terminating"}}),
    );
    assert_eq!(terminating["spec"], json!({}));

    let s = defaulted(
        "",
        "Secret",
        json!({"data": {"a": "eA=="}, "stringData": {"b": "hello"}}),
    );
    assert_eq!(
        s,
        json!({"data": {"a": "eA==", "b": "aGVsbG8="}, "type": "Opaque"})
    );

    let ep = defaulted(
        "",
        "Endpoints",
        json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
    );
    assert_eq!(
        ep["subsets"][0]["ports"][0],
        json!({"port": 80, "protocol": "TCP"})
    );

    let es = defaulted(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"addressType": "IPv4", "ports": [{"port": 80}]}),
    );
    assert_eq!(
        es["ports"][0],
        json!({"port": 80, "name": "", "protocol": "TCP"})
    );
    assert_eq!(es["endpoints"], Value::Null);

    let cm = defaulted("", "ConfigMap", json!({"metadata": {"name": "c"}}));
    assert_eq!(cm, json!({"metadata": {"name": "c"}}));

    let node = defaulted(
        "",
        "Node",
        json!({"spec": {"podCIDR": "10.244.0.0/24"}, "status": {"capacity": {"cpu": "4", "memory": "8192Mi"}}}),
    );
    assert_eq!(node["spec"]["podCIDRs"], json!(["10.244.0.0/24"]));
    assert_eq!(
        node["status"]["allocatable"],
        json!({"cpu": "4", "memory": "8Gi"})
    );
}

#[test]
fn defaults_are_idempotent() {
    let objects = [
        ("apps", "Deployment", deployment()),
        (
            "apps",
            "ReplicaSet",
            with(deployment(), |d| d["kind"] = json!("ReplicaSet")),
        ),
        ("", "Pod", pod()),
        ("", "Service", service()),
        (
            "",
            "Service",
            with(service(), |s| s["spec"]["clusterIP"] = json!("None")),
        ),
        ("", "Namespace", json!({"metadata": {"name": "n"}})),
        ("", "Secret", json!({"stringData": {"a": "b"}})),
        ("", "Event", json!({"metadata": {"name": "e"}})),
        (
            "discovery.k8s.io",
            "EndpointSlice",
            json!({"ports": [{}], "endpoints": [{"addresses": ["10.0.0.1"]}]}),
        ),
    ];
    for (g, k, obj) in objects {
        let once = defaulted(g, k, obj);
        let twice = defaulted(g, k, once.clone());
        assert_eq!(once, twice, "{k}");
    }
}

#[test]
fn initial_status_per_kind() {
    let cases = [
        ("", "Namespace", Some(json!({"phase": "Active"}))),
        ("", "Service", Some(json!({"loadBalancer": {}}))),
        ("apps", "Deployment", Some(json!({}))),
        ("apps", "ReplicaSet", Some(json!({"replicas": 0}))),
        ("", "ConfigMap", None),
        ("", "Node", None),
    ];
    for (g, k, want) in cases {
        assert_eq!(initial_status(g, k, &json!({})), want, "{k}");
    }
}

#[test]
fn prepare_hooks() {
    let mut ns = json!({"metadata": {"name": "x"}, "spec": {"finalizers": ["example.com/f"]}});
    prepare_for_create("", "Namespace", &mut ns);
    assert_eq!(
        ns["spec"]["finalizers"],
        json!(["example.com/f", "kubernetes"])
    );

    let mut ns = json!({"metadata": {"name": "x"}, "spec": {"finalizers": []}});
    prepare_for_update(
        "",
        "Namespace",
        &mut ns,
        &json!({"spec": {"finalizers": ["kubernetes"]}}),
    );
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));

    // A client that omits the allocated clusterIP and nodePort keeps them.
    let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"],
        "ports": [{"port": 80, "nodePort": 30080}], "externalTrafficPolicy": "Cluster"}});
    let mut new = defaulted(
        "",
        "Service",
        json!({"spec": {"type": "NodePort", "ports": [{"port": 80}], "selector": {"a": "b"}}}),
    );
    prepare_for_update("", "Service", &mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], json!("10.96.0.5"));
    assert_eq!(new["spec"]["clusterIPs"], json!(["10.96.0.5"]));
    assert_eq!(new["spec"]["ports"][0]["nodePort"], json!(30080));

    // NodePort -> ClusterIP drops the node ports and externalTrafficPolicy.
    let mut new = with(old.clone(), |s| s["spec"]["type"] = json!("ClusterIP"));
    apply_defaults("", "Service", &mut new);
    prepare_for_update("", "Service", &mut new, &defaulted("", "Service", old));
    assert!(new["spec"]["ports"][0].get("nodePort").is_none());
    assert!(new["spec"].get("externalTrafficPolicy").is_none());
    assert!(validate("", "Service", &new, None)
        .iter()
        .all(|e| !e.field.contains("nodePort")));
}

// === validation: names and metadata ===

#[test]
fn name_rules_per_kind() {
    let cases: [(&str, &str, &str, &[&str]); 8] = [
        ("apps", "Deployment", "web-1.v2", &[]),
        ("apps", "Deployment", "Bad_Name", &[SUBDOMAIN_MSG]),
        ("", "Namespace", "team-a", &[]),
        ("", "Namespace", "a.b", &["must not contain dots"]),
        ("", "Service", "1svc", &["a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"]),
        ("", "Pod", &"a".repeat(254), &["must be no more than 253 characters"]),
        ("", "Event", "web.17a3b", &[]),
        ("", "Event", "a/b", &["may not contain '/'"]),
    ];
    for (g, k, name, want) in cases {
        assert_eq!(validate_name(g, k, name), want.to_vec(), "{k} {name}");
    }
}

#[test]
fn metadata_messages() {
    let e = deploy_errs(|d| d["metadata"]["name"] = json!("Bad_Name"));
    assert_has(
        &e,
        &format!("metadata.name: Invalid value: \"Bad_Name\": {SUBDOMAIN_MSG}"),
    );
    let e = deploy_errs(|d| {
        d["metadata"]["name"] = json!("");
        d["metadata"]["generateName"] = json!("Web-");
    });
    assert_has(
        &e,
        "metadata.name: Required value: name or generateName is required",
    );
    assert_has(
        &e,
        &format!("metadata.generateName: Invalid value: \"Web-\": {SUBDOMAIN_MSG}"),
    );
    assert!(validate_name("apps", "Deployment", "web-").len() == 1);
    let e = deploy_errs(|d| d["metadata"]["labels"] = json!({"app": "a b"}));
    assert_has(&e, "metadata.labels: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    let e = deploy_errs(|d| d["metadata"]["labels"] = json!({"app": "x".repeat(64)}));
    assert_has(
        &e,
        &format!(
            "metadata.labels: Invalid value: \"{}\": must be no more than 63 characters",
            "x".repeat(64)
        ),
    );
    let e = deploy_errs(|d| d["metadata"]["labels"] = json!({"-bad/key": "v"}));
    assert_has(
        &e,
        &format!("metadata.labels: Invalid value: \"-bad/key\": prefix part {SUBDOMAIN_MSG}"),
    );
    let e = deploy_errs(|d| d["metadata"]["annotations"] = json!({"big": "x".repeat(262_145)}));
    assert_has(
        &e,
        "metadata.annotations: Too long: may not be more than 262144 bytes",
    );
    let e = deploy_errs(|d| {
        d["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "apps/v1", "kind": "X", "name": "x"}])
    });
    assert_has(
        &e,
        "metadata.ownerReferences.uid: Invalid value: \"\": uid must not be empty",
    );
    let e = deploy_errs(|d| d["metadata"]["finalizers"] = json!(["custom"]));
    assert_has(&e, "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified");
}

#[test]
fn metadata_update_immutability() {
    let old = json!({"metadata": {"name": "team-a", "uid": "u1"}});
    let e = errors(
        "",
        "Namespace",
        json!({"metadata": {"name": "team-b", "uid": "u1"}}),
        Some(old.clone()),
    );
    assert_has(
        &e,
        "metadata.name: Invalid value: \"team-b\": field is immutable",
    );
    let e = errors(
        "",
        "Namespace",
        json!({"metadata": {"name": "team-a", "uid": "u2"}}),
        Some(old.clone()),
    );
    assert_has(
        &e,
        "metadata.uid: Invalid value: \"u2\": field is immutable",
    );
    assert!(errors(
        "",
        "Namespace",
        json!({"metadata": {"name": "team-a"}}),
        Some(old)
    )
    .is_empty());
}

// === validation: Deployment / ReplicaSet ===

#[test]
fn valid_objects_have_no_errors() {
    assert_clean("apps", "Deployment", deployment());
    assert_clean(
        "apps",
        "ReplicaSet",
        with(deployment(), |d| d["kind"] = json!("ReplicaSet")),
    );
    assert_clean("", "Pod", pod());
    assert_clean("", "Service", service());
    assert_clean(
        "",
        "Service",
        with(service(), |s| s["spec"]["type"] = json!("LoadBalancer")),
    );
    // What the apiserver stores for `kubectl expose --type=NodePort` after allocation.
    let mut exposed = defaulted(
        "",
        "Service",
        json!({"metadata": {"name": "web-svc", "namespace": "default", "labels": {"app": "web"}},
               "spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}], "selector": {"app": "web"}, "type": "NodePort"}}),
    );
    exposed["spec"]["clusterIP"] = json!("10.96.12.7");
    exposed["spec"]["ports"][0]["nodePort"] = json!(31234);
    assert_clean("", "Service", exposed);
    assert_clean("", "Namespace", json!({"metadata": {"name": "team-a"}}));
    assert_clean(
        "",
        "ConfigMap",
        json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a.txt": "x"}}),
    );
    assert_clean(
        "",
        "Secret",
        json!({"metadata": {"name": "s", "namespace": "d"}, "stringData": {"k": "v"}}),
    );
    assert_clean(
        "",
        "ServiceAccount",
        json!({"metadata": {"name": "default", "namespace": "d"}}),
    );
    assert_clean(
        "coordination.k8s.io",
        "Lease",
        json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 40}}),
    );
    assert_clean(
        "",
        "Event",
        json!({"metadata": {"name": "e.1", "namespace": "d"}, "involvedObject": {"namespace": "d"}}),
    );
    assert_clean("", "Node", json!({"metadata": {"name": "node-1"}}));
    assert_clean(
        "discovery.k8s.io",
        "EndpointSlice",
        json!({"metadata": {"name": "web-abc", "namespace": "d"}, "addressType": "IPv4",
               "endpoints": [{"addresses": ["10.244.0.5"]}], "ports": [{"port": 80}]}),
    );
    assert_clean(
        "",
        "Endpoints",
        json!({"metadata": {"name": "web", "namespace": "d"}, "subsets": [{"addresses": [{"ip": "10.244.0.5"}], "ports": [{"port": 80}]}]}),
    );
}

#[test]
fn deployment_selector_messages() {
    let e = deploy_errs(|d| d["spec"]["template"]["metadata"]["labels"] = json!({"app": "x"}));
    assert_has(&e, "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`");
    let e = deploy_errs(|d| {
        d["spec"].as_object_mut().unwrap().remove("selector");
    });
    assert_has(&e, "spec.selector: Required value");
    assert_has(&e, "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`");
    let e = deploy_errs(|d| d["spec"]["selector"] = json!({"matchLabels": {}}));
    assert_has(&e, "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment");
    let e = deploy_errs(|d| {
        d["spec"]["selector"] = json!({"matchExpressions": [{"key": "app", "operator": "Bogus"}]})
    });
    assert_has(&e, "spec.selector.matchExpressions[0].operator: Invalid value: \"Bogus\": not a valid selector operator");
    assert_has(&e, "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"app\", Operator:\"Bogus\", Values:[]string(nil)}}}: invalid label selector");
    // Labels matched through expressions are fine.
    assert!(deploy_errs(|d| d["spec"]["selector"] =
        json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}))
    .is_empty());
}

#[test]
fn deployment_selector_is_immutable() {
    let old = deployment();
    let new = with(deployment(), |d| {
        d["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "fe"}});
        d["spec"]["template"]["metadata"]["labels"] = json!({"app": "web", "tier": "fe"});
    });
    let e = errors("apps", "Deployment", new, Some(old.clone()));
    assert_eq!(e, vec!["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"fe\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable".to_string()]);
    // Scaling and image changes are fine.
    let new = with(deployment(), |d| {
        d["spec"]["replicas"] = json!(5);
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    });
    assert!(errors("apps", "Deployment", new, Some(old)).is_empty());
    let rs = with(deployment(), |d| d["kind"] = json!("ReplicaSet"));
    let rs2 = with(rs.clone(), |d| {
        d["spec"]["selector"]["matchLabels"]["app"] = json!("other")
    });
    assert_has(&errors("apps", "ReplicaSet", rs2, Some(rs)), "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"other\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable");
}

#[test]
fn deployment_rolling_update_messages() {
    let ru = |mu: Value, ms: Value| {
        deploy_errs(
            move |d| d["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": mu, "maxSurge": ms}}),
        )
    };
    assert_has(&ru(json!(0), json!(0)), "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0");
    assert_has(&ru(json!("0%"), json!(0)), "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"0%\"}: may not be 0 when `maxSurge` is 0");
    assert_has(&ru(json!("150%"), json!(1)), "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%");
    assert_has(&ru(json!(1), json!(-1)), "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0");
    assert_has(&ru(json!(1), json!("abc")), "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
    assert!(ru(json!(0), json!("200%")).is_empty());
    let e = deploy_errs(|d| {
        d["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    });
    assert_has(&e, "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'");
    let e = deploy_errs(|d| d["spec"]["strategy"] = json!({"type": "BlueGreen"}));
    assert_has(&e, "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\"");
}

#[test]
fn deployment_spec_number_messages() {
    assert_has(
        &deploy_errs(|d| d["spec"]["replicas"] = json!(-1)),
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
    );
    assert_has(
        &deploy_errs(|d| d["spec"]["revisionHistoryLimit"] = json!(-2)),
        "spec.revisionHistoryLimit: Invalid value: -2: must be greater than or equal to 0",
    );
    assert_has(
        &deploy_errs(|d| {
            d["spec"]["minReadySeconds"] = json!(600);
        }),
        "spec.progressDeadlineSeconds: Invalid value: 600: must be greater than minReadySeconds",
    );
}

#[test]
fn template_rules() {
    let e = deploy_errs(|d| d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never"));
    assert_has(&e, "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"");
    let e = deploy_errs(|d| d["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(5));
    assert_has(&e, "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported");
    let e = deploy_errs(|d| d["spec"]["template"]["spec"]["containers"][0]["image"] = json!(""));
    assert_has(&e, "spec.template.spec.containers[0].image: Required value");
    let e = deploy_errs(|d| d["spec"]["template"]["metadata"]["labels"]["bad key"] = json!("v"));
    assert!(
        e.iter()
            .any(|m| m.starts_with("spec.template.labels: Invalid value: \"bad key\": name part")),
        "{e:?}"
    );
    let e = deploy_errs(|d| d["spec"]["template"]["spec"]["containers"] = json!([]));
    assert_has(&e, "spec.template.spec.containers: Required value");
}

#[test]
fn replica_set_messages() {
    let rs = |f: fn(&mut Value)| {
        errors(
            "apps",
            "ReplicaSet",
            with(with(deployment(), |d| d["kind"] = json!("ReplicaSet")), f),
            None,
        )
    };
    assert_has(&rs(|d| d["spec"]["selector"] = json!({})), "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment");
    assert_has(
        &rs(|d| d["spec"]["minReadySeconds"] = json!(-5)),
        "spec.minReadySeconds: Invalid value: -5: must be greater than or equal to 0",
    );
}

// === validation: Pod ===

#[test]
fn container_messages() {
    assert_has(
        &pod_errs(|p| p["spec"]["containers"][0]["image"] = json!("")),
        "spec.containers[0].image: Required value",
    );
    assert_has(&pod_errs(|p| p["spec"]["containers"][0]["image"] = json!(" nginx")), "spec.containers[0].image: Invalid value: \" nginx\": must not have leading or trailing whitespace");
    assert_has(
        &pod_errs(|p| p["spec"]["containers"][0]["name"] = json!("Nginx")),
        &format!("spec.containers[0].name: Invalid value: \"Nginx\": {LABEL_MSG}"),
    );
    assert_has(
        &pod_errs(|p| p["spec"]["containers"][0]["name"] = json!("")),
        "spec.containers[0].name: Required value",
    );
    let e = pod_errs(|p| {
        p["spec"]["containers"] = json!([{"name": "a", "image": "x"}, {"name": "a", "image": "y"}])
    });
    assert_has(&e, "spec.containers[1].name: Duplicate value: \"a\"");
    let e = pod_errs(|p| p["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes"));
    assert_has(&e, "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"");
    let e = pod_errs(|p| p["spec"]["restartPolicy"] = json!("Sometimes"));
    assert_has(&e, "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"");
}

#[test]
fn port_messages() {
    let ports = |v: Value| pod_errs(move |p| p["spec"]["containers"][0]["ports"] = v);
    assert_has(
        &ports(json!([{"containerPort": 0}])),
        "spec.containers[0].ports[0].containerPort: Required value",
    );
    assert_has(&ports(json!([{"containerPort": 70000}])), "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive");
    assert_has(&ports(json!([{"containerPort": 80, "protocol": "HTTP"}])), "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"");
    assert_has(&ports(json!([{"containerPort": 80, "name": "web-HTTP"}])), "spec.containers[0].ports[0].name: Invalid value: \"web-HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    assert_has(
        &ports(
            json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 81, "hostPort": 80}]),
        ),
        "spec.containers[0].ports[1].hostPort: Duplicate value: \"TCP//80\"",
    );
}

#[test]
fn env_volume_and_probe_messages() {
    let e =
        pod_errs(|p| p["spec"]["containers"][0]["env"] = json!([{"name": "A=B", "value": "x"}]));
    assert_has(&e, "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='");
    let e = pod_errs(|p| {
        p["spec"]["containers"][0]["env"] =
            json!([{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}])
    });
    assert_has(&e, "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.bogus\": error converting fieldPath: field label not supported: spec.bogus");
    let e = pod_errs(|p| {
        p["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}])
    });
    assert_has(
        &e,
        "spec.containers[0].volumeMounts[0].name: Not found: \"data\"",
    );
    let e = pod_errs(|p| {
        p["spec"]["volumes"] = json!([{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}])
    });
    assert_has(
        &e,
        "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
    );
    let e = pod_errs(|p| p["spec"]["volumes"] = json!([{"name": "v", "configMap": {}}]));
    assert_has(&e, "spec.volumes[0].configMap.name: Required value");
    let e = pod_errs(|p| {
        p["spec"]["containers"][0]["livenessProbe"] =
            json!({"exec": {"command": ["true"]}, "successThreshold": 2})
    });
    assert_has(
        &e,
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
    );
    let e =
        pod_errs(|p| p["spec"]["containers"][0]["readinessProbe"] = json!({"periodSeconds": 3}));
    assert_has(
        &e,
        "spec.containers[0].readinessProbe: Required value: must specify a handler type",
    );
}

#[test]
fn resource_messages() {
    let res = |v: Value| pod_errs(move |p| p["spec"]["containers"][0]["resources"] = v);
    assert_has(&res(json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})), "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1");
    assert_has(&res(json!({"requests": {"memory": "-1"}})), "spec.containers[0].resources.requests[memory]: Invalid value: \"-1\": must be greater than or equal to 0");
    assert_has(&res(json!({"limits": {"gpu": "1"}})), "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource for containers");
    assert!(res(json!({"limits": {"example.com/gpu": "1"}})).is_empty());
}

#[test]
fn toleration_and_scheduling_messages() {
    let e = pod_errs(|p| p["spec"]["tolerations"] = json!([{"key": "k", "operator": "Maybe"}]));
    assert_has(&e, "spec.tolerations[0].operator: Unsupported value: \"Maybe\": supported values: \"Equal\", \"Exists\"");
    let e = pod_errs(|p| p["spec"]["tolerations"] = json!([{"operator": "Equal", "value": "v"}]));
    assert_has(&e, "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
    let e = pod_errs(|p| p["spec"]["nodeName"] = json!("Node_1"));
    assert_has(
        &e,
        &format!("spec.nodeName: Invalid value: \"Node_1\": {SUBDOMAIN_MSG}"),
    );
    let e = pod_errs(|p| p["spec"]["dnsPolicy"] = json!("None"));
    assert_has(
        &e,
        "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
    );
}

#[test]
fn pod_update_rules() {
    let old = pod();
    // An update patches the stored (defaulted) object, so imagePullPolicy stays Always.
    let image_only = with(defaulted("", "Pod", pod()), |p| {
        p["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    });
    let e = errors("", "Pod", image_only, Some(old.clone()));
    assert!(e.is_empty(), "{e:#?}");
    let e = errors(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["containers"] =
                json!([{"name": "nginx", "image": "nginx"}, {"name": "b", "image": "b"}]);
        }),
        Some(old.clone()),
    );
    assert_has(
        &e,
        "spec.containers: Forbidden: pod updates may not add or remove containers",
    );
    let e = errors(
        "",
        "Pod",
        with(pod(), |p| {
            p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80}])
        }),
        Some(old.clone()),
    );
    assert!(
        e.iter().any(|m| m.starts_with("spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n")),
        "{e:?}"
    );
    let e = errors(
        "",
        "Pod",
        with(pod(), |p| p["spec"]["activeDeadlineSeconds"] = json!(10)),
        Some(with(pod(), |p| {
            p["spec"]["activeDeadlineSeconds"] = json!(5)
        })),
    );
    assert_has(&e, "spec.activeDeadlineSeconds: Invalid value: 10: must be less than or equal to previous value");
    let e = errors(
        "",
        "Pod",
        with(pod(), |p| p["spec"]["tolerations"] = json!([])),
        Some(old),
    );
    assert!(
        e.is_empty(),
        "defaults re-add the admission tolerations: {e:?}"
    );
}

// === validation: Service ===

#[test]
fn service_messages() {
    assert_has(&svc_errs(|s| s["metadata"]["name"] = json!("1web")), "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')");
    assert_has(
        &svc_errs(|s| s["spec"]["ports"] = json!([])),
        "spec.ports: Required value",
    );
    assert_has(
        &svc_errs(|s| s["spec"]["ports"] = json!([{"port": 80}, {"port": 81}])),
        "spec.ports[0].name: Required value",
    );
    assert_has(&svc_errs(|s| s["spec"]["ports"] = json!([{"port": 80, "name": "a"}, {"port": 80, "name": "b"}])), "spec.ports[1]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}");
    assert_has(&svc_errs(|s| s["spec"]["type"] = json!("Magic")), "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"");
    assert_has(
        &svc_errs(|s| s["spec"]["ports"][0]["nodePort"] = json!(30000)),
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
    );
    assert_has(
        &svc_errs(|s| s["spec"]["ports"][0]["port"] = json!(0)),
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    );
    assert_has(&svc_errs(|s| s["spec"]["clusterIP"] = json!("10.0.0.300")), "spec.clusterIPs[0]: Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
    assert_has(&svc_errs(|s| s["spec"]["sessionAffinity"] = json!("Sticky")), "spec.sessionAffinity: Unsupported value: \"Sticky\": supported values: \"ClientIP\", \"None\"");
    assert_has(
        &errors(
            "",
            "Service",
            json!({"metadata": {"name": "ext", "namespace": "d"}, "spec": {"type": "ExternalName"}}),
            None,
        ),
        "spec.externalName: Required value",
    );
}

#[test]
fn service_cluster_ip_is_immutable() {
    let old = with(service(), |s| s["spec"]["clusterIP"] = json!("10.96.0.5"));
    let new = with(service(), |s| {
        s["spec"]["clusterIP"] = json!("10.96.0.9");
        s["spec"]["clusterIPs"] = json!(["10.96.0.9"]);
    });
    let e = errors("", "Service", new, Some(old.clone()));
    assert_has(
        &e,
        "spec.clusterIPs[0]: Invalid value: []string{\"10.96.0.9\"}: may not change once set",
    );
    let same = with(service(), |s| {
        s["spec"]["clusterIP"] = json!("10.96.0.5");
        s["spec"]["ports"][0]["port"] = json!(8080);
    });
    assert!(errors("", "Service", same, Some(old)).is_empty());
}

// === validation: other kinds ===

#[test]
fn other_kind_messages() {
    let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"bad key": "x"}});
    assert_has(&errors("", "ConfigMap", cm, None), "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    let s = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "Opaque"});
    let e = errors(
        "",
        "Secret",
        with(s.clone(), |x| x["type"] = json!("kubernetes.io/tls")),
        Some(s),
    );
    assert_has(
        &e,
        "type: Invalid value: \"kubernetes.io/tls\": field is immutable",
    );
    assert_has(&e, "data[tls.crt]: Required value");
    let imm =
        json!({"metadata": {"name": "c", "namespace": "d"}, "immutable": true, "data": {"a": "1"}});
    let e = errors(
        "",
        "ConfigMap",
        with(imm.clone(), |x| x["data"]["a"] = json!("2")),
        Some(imm),
    );
    assert_has(
        &e,
        "data: Forbidden: field is immutable when `immutable` is set",
    );
    let es = json!({"metadata": {"name": "e", "namespace": "d"}, "addressType": "IPX", "endpoints": [{"addresses": []}]});
    let e = errors("discovery.k8s.io", "EndpointSlice", es, None);
    assert_has(
        &e,
        "addressType: Unsupported value: \"IPX\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
    );
    assert_has(
        &e,
        "endpoints[0].addresses: Required value: must contain at least 1 address",
    );
    let lease =
        json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"leaseDurationSeconds": 0}});
    assert_has(
        &errors("coordination.k8s.io", "Lease", lease, None),
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
    );
    let node = json!({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k"}]}});
    assert_has(
        &errors("", "Node", node, None),
        "metadata.taints[0].effect: Required value",
    );
    let ep = json!({"metadata": {"name": "e", "namespace": "d"}, "subsets": [{"addresses": [{"ip": "127.0.0.1"}]}]});
    assert_has(&errors("", "Endpoints", ep, None), "subsets[0].addresses[0].ip: Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)");
    let ev = json!({"metadata": {"name": "e", "namespace": "d"}, "involvedObject": {"namespace": "other"}});
    assert_has(
        &errors("", "Event", ev, None),
        "involvedObject.namespace: Invalid value: \"other\": does not match event.namespace",
    );
    let ns = json!({"metadata": {"name": "n"}, "spec": {"finalizers": ["bogus"]}});
    assert_has(&errors("", "Namespace", ns, None), "spec.finalizers: Invalid value: \"bogus\": name is neither a standard finalizer name nor is it fully qualified");
}

#[test]
fn cause_reasons_match_upstream() {
    let errs = validate(
        "apps",
        "Deployment",
        &defaulted(
            "apps",
            "Deployment",
            with(deployment(), |d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
                d["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
                d["spec"]["replicas"] = json!(-1);
            }),
        ),
        None,
    );
    let kinds: Vec<(FieldErrorKind, &str)> =
        errs.iter().map(|e| (e.kind, e.kind.reason())).collect();
    assert!(kinds.contains(&(FieldErrorKind::Required, "FieldValueRequired")));
    assert!(kinds.contains(&(FieldErrorKind::NotSupported, "FieldValueNotSupported")));
    assert!(kinds.contains(&(FieldErrorKind::Invalid, "FieldValueInvalid")));
    let image = errs
        .iter()
        .find(|e| e.field == "spec.template.spec.containers[0].image")
        .unwrap();
    assert_eq!(image.body(), "Required value");
}
