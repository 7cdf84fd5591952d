//! The EndpointSlice / Endpoints controller against a real API server,
//! through kube-rs and the real kubectl. No node agent runs here: tests set
//! pod IPs and readiness through `/status` themselves.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{bounded, eventually, Env};
use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::{json, Value};
use tokio::sync::oneshot;

const TRIGGER: &str = "endpoints.kubernetes.io/last-change-trigger-time";

/// An API server plus only the EndpointSlice controller.
struct Harness {
    env: Env,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Harness {
    async fn start() -> Harness {
        let mut h = Harness::server().await;
        h.start_controller();
        h
    }

    /// Only the API server; [`Harness::start_controller`] later.
    async fn server() -> Harness {
        Harness {
            env: Env::server_only().await,
            stop: None,
            task: None,
        }
    }

    fn start_controller(&mut self) {
        let (tx, rx) = oneshot::channel::<()>();
        self.task = Some(tokio::spawn(controllers::endpointslice::run(
            self.env.client.clone(),
            async {
                let _ = rx.await;
            },
        )));
        self.stop = Some(tx);
    }

    async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("controller stops")
                .expect("controller task");
        }
        self.env.shutdown().await;
    }

    fn services(&self) -> Api<Service> {
        Api::namespaced(self.env.client.clone(), "default")
    }

    fn endpoints(&self) -> Api<Endpoints> {
        Api::namespaced(self.env.client.clone(), "default")
    }

    fn slices_api(&self) -> Api<EndpointSlice> {
        Api::namespaced(self.env.client.clone(), "default")
    }

    /// The slices of Service `svc`, as `kubectl describe svc` finds them.
    async fn slices(&self, svc: &str) -> Vec<EndpointSlice> {
        self.slices_api()
            .list(&ListParams::default().labels(&format!("kubernetes.io/service-name={svc}")))
            .await
            .expect("list slices")
            .items
    }

    async fn service(&self, name: &str, spec: Value) -> Service {
        let svc: Service = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"team": "a"}},
            "spec": spec,
        }))
        .expect("service");
        self.services()
            .create(&PostParams::default(), &svc)
            .await
            .expect("create service")
    }

    /// A pod with `labels` whose container port `http` is `port`, given
    /// `ip` and (if `ready`) a Ready condition, as a node agent would.
    async fn pod(&self, name: &str, labels: Value, port: i32, ip: &str, ready: bool) -> Pod {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "slipway/demo:v1",
                     "ports": [{"name": "http", "containerPort": port}]}]},
        }))
        .expect("pod");
        self.env
            .pods()
            .create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
        let patch = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}});
        self.env
            .pods()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("pod ip");
        self.set_ready(name, ready).await
    }

    async fn set_ready(&self, name: &str, ready: bool) -> Pod {
        let now = k8s_openapi::jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let status = if ready { "True" } else { "False" };
        let patch = json!({"status": {"conditions": [
            {"type": "Ready", "status": status, "lastTransitionTime": now}
        ]}});
        self.env
            .pods()
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("pod readiness")
    }

    /// Wait until `svc`'s slices hold exactly the endpoints `check` likes.
    async fn wait_slices<F>(&self, svc: &str, what: &str, check: F) -> Vec<EndpointSlice>
    where
        F: Fn(&[EndpointSlice]) -> bool,
    {
        eventually(what, 20, || async {
            let s = self.slices(svc).await;
            check(&s).then_some(s)
        })
        .await
    }

    async fn wait_endpoints<F>(&self, svc: &str, what: &str, check: F) -> Endpoints
    where
        F: Fn(&Endpoints) -> bool,
    {
        eventually(what, 20, || async {
            let e = self.endpoints().get_opt(svc).await.ok()??;
            check(&e).then_some(e)
        })
        .await
    }
}

/// (pod name, ready, serving, terminating) of every endpoint, sorted.
fn summary(slices: &[EndpointSlice]) -> Vec<(String, bool, bool, bool)> {
    let mut out: Vec<_> = slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .map(|e: &Endpoint| {
            let c = e.conditions.clone().unwrap_or_default();
            (
                e.target_ref
                    .as_ref()
                    .and_then(|r| r.name.clone())
                    .unwrap_or_default(),
                c.ready == Some(true),
                c.serving == Some(true),
                c.terminating == Some(true),
            )
        })
        .collect();
    out.sort();
    out
}

fn ready_ips(e: &Endpoints) -> BTreeSet<String> {
    e.subsets
        .iter()
        .flatten()
        .flat_map(|s| s.addresses.iter().flatten())
        .map(|a| a.ip.clone())
        .collect()
}

fn not_ready_ips(e: &Endpoints) -> BTreeSet<String> {
    e.subsets
        .iter()
        .flatten()
        .flat_map(|s| s.not_ready_addresses.iter().flatten())
        .map(|a| a.ip.clone())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn web_spec(selector: Value) -> Value {
    json!({
        "selector": selector,
        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
    })
}

fn up(name: &str) -> (String, bool, bool, bool) {
    (name.to_string(), true, true, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_ready_pods_make_one_slice_and_an_endpoints_object() {
    bounded(async {
        let h = Harness::start().await;
        for (i, n) in ["a", "b", "c"].iter().enumerate() {
            h.pod(
                n,
                json!({"app": "web"}),
                8080,
                &format!("10.244.0.{}", i + 1),
                true,
            )
            .await;
        }
        // Not selected.
        h.pod("other", json!({"app": "other"}), 8080, "10.244.0.9", true)
            .await;
        let svc = h.service("web", web_spec(json!({"app": "web"}))).await;

        let slices = h
            .wait_slices("web", "3 ready endpoints", |s| {
                summary(s) == vec![up("a"), up("b"), up("c")]
            })
            .await;
        assert_eq!(slices.len(), 1);
        let s = &slices[0];
        let name = s.name_any();
        assert!(
            name.starts_with("web-") && name.len() == "web-".len() + 5,
            "{name}"
        );
        assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(s.address_type, "IPv4");
        let labels = s.labels();
        assert_eq!(labels["kubernetes.io/service-name"], "web");
        assert_eq!(
            labels["endpointslice.kubernetes.io/managed-by"],
            "endpointslice-controller.k8s.io"
        );
        assert_eq!(labels["team"], "a");
        let o = &s.owner_references()[0];
        assert_eq!(
            (o.kind.as_str(), o.name.as_str(), o.uid.as_str()),
            ("Service", "web", svc.uid().unwrap().as_str())
        );
        assert_eq!(
            (o.controller, o.block_owner_deletion),
            (Some(true), Some(true))
        );
        let ports = s.ports.clone().unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!(
            (
                ports[0].name.as_deref(),
                ports[0].port,
                ports[0].protocol.as_deref()
            ),
            (Some("http"), Some(8080), Some("TCP"))
        );
        let a = s
            .endpoints
            .iter()
            .find(|e| e.addresses == vec!["10.244.0.1".to_string()])
            .expect("pod a");
        let r = a.target_ref.clone().unwrap();
        let pod_a = h.env.pods().get("a").await.unwrap();
        assert_eq!(
            (r.kind.as_deref(), r.namespace.as_deref(), r.name.as_deref()),
            (Some("Pod"), Some("default"), Some("a"))
        );
        assert_eq!(r.uid, pod_a.metadata.uid);

        let ep = h
            .wait_endpoints("web", "Endpoints with 3 addresses", |e| {
                ready_ips(e).len() == 3
            })
            .await;
        assert_eq!(
            ready_ips(&ep),
            set(&["10.244.0.1", "10.244.0.2", "10.244.0.3"])
        );
        assert!(not_ready_ips(&ep).is_empty());
        assert!(
            ep.annotations().contains_key(TRIGGER),
            "{:?}",
            ep.annotations()
        );
        assert_eq!(ep.labels()["team"], "a");
        let sub = &ep.subsets.as_ref().unwrap()[0];
        let p = &sub.ports.as_ref().unwrap()[0];
        assert_eq!((p.name.as_deref(), p.port), (Some("http"), 8080));

        // Minimal writes: an irrelevant pod change rewrites nothing.
        let slice_rv = h.slices("web").await[0].resource_version();
        let ep_rv = ep.resource_version();
        let patch = json!({"metadata": {"annotations": {"note": "hello"}}});
        h.env
            .pods()
            .patch("a", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(h.slices("web").await[0].resource_version(), slice_rv);
        assert_eq!(
            h.endpoints().get("web").await.unwrap().resource_version(),
            ep_rv
        );
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_turning_unready_flips_ready_false() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.pod("b", json!({"app": "web"}), 8080, "10.244.0.2", true)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        h.wait_slices("web", "2 ready", |s| summary(s) == vec![up("a"), up("b")])
            .await;
        let before = h.slices("web").await[0].name_any();

        h.set_ready("b", false).await;
        let slices = h
            .wait_slices("web", "b not ready", |s| {
                summary(s) == vec![up("a"), ("b".into(), false, false, false)]
            })
            .await;
        // Updated in place.
        assert_eq!(slices.len(), 1);
        assert_eq!(slices[0].name_any(), before);
        let ep = h
            .wait_endpoints("web", "b in notReadyAddresses", |e| {
                not_ready_ips(e) == set(&["10.244.0.2"])
            })
            .await;
        assert_eq!(ready_ips(&ep), set(&["10.244.0.1"]));

        h.set_ready("b", true).await;
        h.wait_slices("web", "b ready again", |s| {
            summary(s) == vec![up("a"), up("b")]
        })
        .await;
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gracefully_deleted_pod_is_terminating() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.pod("b", json!({"app": "web"}), 8080, "10.244.0.2", true)
            .await;
        h.pod("c", json!({"app": "web"}), 8080, "10.244.0.3", false)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        h.wait_slices("web", "3 endpoints", |s| summary(s).len() == 3)
            .await;

        // Bound pods are deleted gracefully: they stay, terminating, until
        // their node confirms.
        for n in ["b", "c"] {
            let binding = json!({
                "apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": n},
                "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
            });
            h.env
                .pods()
                .create_subresource::<Value, Value>("binding", n, &PostParams::default(), &binding)
                .await
                .expect("bind");
            h.env
                .pods()
                .delete(n, &DeleteParams::default().grace_period(30))
                .await
                .expect("delete");
        }
        let slices = h
            .wait_slices("web", "b and c terminating", |s| {
                summary(s)
                    == vec![
                        up("a"),
                        // Ready, so still serving while it drains.
                        ("b".into(), false, true, true),
                        ("c".into(), false, false, true),
                    ]
            })
            .await;
        let b = slices[0]
            .endpoints
            .iter()
            .find(|e| e.target_ref.as_ref().and_then(|r| r.name.as_deref()) == Some("b"))
            .unwrap();
        assert_eq!(b.node_name.as_deref(), Some("node-1"));
        // Endpoints leave terminating pods out.
        let ep = h
            .wait_endpoints("web", "only a", |e| {
                ready_ips(e) == set(&["10.244.0.1"]) && not_ready_ips(e).is_empty()
            })
            .await;
        assert_eq!(ep.subsets.as_ref().map(Vec::len), Some(1));

        // The node confirms: the pods go, and so do their endpoints.
        for n in ["b", "c"] {
            h.env
                .pods()
                .delete(n, &DeleteParams::default().grace_period(0))
                .await
                .expect("confirm delete");
        }
        h.wait_slices("web", "only a", |s| summary(s) == vec![up("a")])
            .await;
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_change_moves_endpoints() {
    bounded(async {
        let h = Harness::start().await;
        h.pod(
            "blue-1",
            json!({"app": "act", "version": "1.0"}),
            8080,
            "10.244.0.1",
            true,
        )
        .await;
        h.pod(
            "blue-2",
            json!({"app": "act", "version": "1.0"}),
            8080,
            "10.244.0.2",
            true,
        )
        .await;
        h.pod(
            "green-1",
            json!({"app": "act", "version": "2.0"}),
            8080,
            "10.244.1.1",
            true,
        )
        .await;
        h.service("act", web_spec(json!({"app": "act", "version": "1.0"})))
            .await;
        h.wait_slices("act", "blue", |s| {
            summary(s) == vec![up("blue-1"), up("blue-2")]
        })
        .await;
        h.wait_endpoints("act", "blue endpoints", |e| {
            ready_ips(e) == set(&["10.244.0.1", "10.244.0.2"])
        })
        .await;

        // As in the seeds: kubectl patch service act -p '{"spec":{"selector":{"version":"2.0"}}}'
        h.env
            .kubectl_ok(&[
                "patch",
                "service",
                "act",
                "-p",
                r#"{"spec":{"selector":{"version":"2.0"}}}"#,
            ])
            .await;
        let slices = h
            .wait_slices("act", "green", |s| summary(s) == vec![up("green-1")])
            .await;
        assert_eq!(slices.len(), 1);
        h.wait_endpoints("act", "green endpoints", |e| {
            ready_ips(e) == set(&["10.244.1.1"])
        })
        .await;

        // And back.
        h.env
            .kubectl_ok(&[
                "patch",
                "service",
                "act",
                "-p",
                r#"{"spec":{"selector":{"version":"1.0"}}}"#,
            ])
            .await;
        h.wait_slices("act", "blue again", |s| {
            summary(s) == vec![up("blue-1"), up("blue-2")]
        })
        .await;

        // A pod relabelled out of the selector leaves too.
        let patch = json!({"metadata": {"labels": {"version": "3.0"}}});
        h.env
            .pods()
            .patch("blue-2", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        h.wait_slices("act", "blue-1 only", |s| summary(s) == vec![up("blue-1")])
            .await;
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_target_ports_resolve_per_pod() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.pod("b", json!({"app": "web"}), 9090, "10.244.0.2", true)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        let slices = h
            .wait_slices("web", "2 slices", |s| s.len() == 2 && summary(s).len() == 2)
            .await;
        let mut by_port: Vec<(i32, Vec<String>)> = slices
            .iter()
            .map(|s| {
                (
                    s.ports.as_ref().unwrap()[0].port.unwrap(),
                    s.endpoints.iter().map(|e| e.addresses[0].clone()).collect(),
                )
            })
            .collect();
        by_port.sort();
        assert_eq!(
            by_port,
            vec![
                (8080, vec!["10.244.0.1".to_string()]),
                (9090, vec!["10.244.0.2".to_string()])
            ]
        );
        let ep = h
            .wait_endpoints("web", "2 subsets", |e| {
                e.subsets.as_ref().map(Vec::len) == Some(2)
            })
            .await;
        let mut pairs: Vec<(String, i32)> = ep
            .subsets
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s.addresses.as_ref().unwrap()[0].ip.clone(),
                    s.ports.as_ref().unwrap()[0].port,
                )
            })
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("10.244.0.1".to_string(), 8080),
                ("10.244.0.2".to_string(), 9090)
            ]
        );
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_svc_shows_endpoints() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.pod("b", json!({"app": "web"}), 8080, "10.244.0.2", true)
            .await;
        h.pod("c", json!({"app": "web"}), 8080, "10.244.0.3", false)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        h.wait_slices("web", "3 endpoints", |s| summary(s).len() == 3)
            .await;
        let out = h.env.kubectl_ok(&["describe", "svc", "web"]).await;
        let line = out
            .lines()
            .find(|l| l.starts_with("Endpoints:"))
            .unwrap_or_else(|| panic!("no Endpoints line:\n{out}"));
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            vec!["Endpoints:", "10.244.0.1:8080,10.244.0.2:8080"],
            "{out}"
        );
        let out = h.env.kubectl_ok(&["get", "endpoints", "web"]).await;
        assert!(out.contains("10.244.0.1:8080,10.244.0.2:8080"), "{out}");
        let out = h
            .env
            .kubectl_ok(&[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=web",
            ])
            .await;
        assert!(out.contains("IPv4") && out.contains("8080"), "{out}");
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_unready_publishing_and_selectorless_services() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "db"}), 5432, "10.244.0.1", true)
            .await;
        h.pod("b", json!({"app": "db"}), 5432, "10.244.0.2", false)
            .await;

        // Headless, publishing unready addresses (as StatefulSets do).
        h.service(
            "db",
            json!({"clusterIP": "None", "selector": {"app": "db"},
                   "publishNotReadyAddresses": true,
                   "ports": [{"port": 5432}]}),
        )
        .await;
        let slices = h
            .wait_slices("db", "2 ready", |s| {
                summary(s)
                    == vec![
                        ("a".into(), true, true, false),
                        ("b".into(), true, false, false),
                    ]
            })
            .await;
        assert_eq!(slices[0].labels()["service.kubernetes.io/headless"], "");
        let ep = h
            .wait_endpoints("db", "both ready", |e| ready_ips(e).len() == 2)
            .await;
        assert_eq!(ep.labels()["service.kubernetes.io/headless"], "");

        // Without a selector the Endpoints are the user's.
        h.service("ext", json!({"ports": [{"port": 80}]})).await;
        let manual: Endpoints = serde_json::from_value(json!({
            "metadata": {"name": "ext"},
            "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}],
        }))
        .unwrap();
        let manual = h
            .endpoints()
            .create(&PostParams::default(), &manual)
            .await
            .expect("manual endpoints");
        // A Service with selector but no pods gets an empty placeholder.
        h.service("empty", web_spec(json!({"app": "nothing"})))
            .await;
        let placeholder = h
            .wait_slices("empty", "placeholder", |s| s.len() == 1)
            .await;
        assert!(placeholder[0].endpoints.is_empty());
        h.wait_endpoints("empty", "empty endpoints", |e| e.subsets.is_none())
            .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(h.slices("ext").await.is_empty());
        let still = h.endpoints().get("ext").await.unwrap();
        assert_eq!(still.resource_version(), manual.resource_version());

        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_pods_split_into_slices_of_100() {
    bounded(async {
        let h = Harness::start().await;
        h.service("big", web_spec(json!({"app": "big"}))).await;
        for i in 0..150u32 {
            h.pod(
                &format!("p{i:03}"),
                json!({"app": "big"}),
                8080,
                &format!("10.245.{}.{}", i / 200, i % 200 + 1),
                true,
            )
            .await;
        }
        let slices = h
            .wait_slices("big", "150 endpoints", |s| summary(s).len() == 150)
            .await;
        assert!(slices.iter().all(|s| s.endpoints.len() <= 100));
        let names: BTreeSet<String> = summary(&slices).into_iter().map(|e| e.0).collect();
        assert_eq!(names.len(), 150);
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_service_removes_its_slices_and_endpoints() {
    bounded(async {
        let h = Harness::start().await;
        // The garbage collector removes slices through their owner reference.
        let gc = tokio::spawn(controllers::gc::run(h.env.client.clone()));
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        h.wait_slices("web", "1 endpoint", |s| summary(s) == vec![up("a")])
            .await;
        h.wait_endpoints("web", "endpoints", |e| ready_ips(e).len() == 1)
            .await;
        h.env.kubectl_ok(&["delete", "svc", "web"]).await;
        eventually("slices and endpoints gone", 20, || async {
            let ep = h.endpoints().get_opt("web").await.ok()?;
            (ep.is_none() && h.slices("web").await.is_empty()).then_some(())
        })
        .await;
        // Pod changes for a Service that is gone bring nothing back.
        h.set_ready("a", false).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(h.slices("web").await.is_empty());
        assert!(h.endpoints().get_opt("web").await.unwrap().is_none());
        gc.abort();
        let _ = gc.await;
        h.shutdown().await;
    })
    .await;
}

fn manual_endpoints(name: &str) -> Endpoints {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}],
    }))
    .expect("endpoints")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_without_a_service_are_removed_only_at_start_up() {
    bounded(async {
        let mut h = Harness::server().await;
        // Left behind by a Service deleted while the controller was away.
        h.endpoints()
            .create(&PostParams::default(), &manual_endpoints("leftover"))
            .await
            .unwrap();
        h.service("kept", json!({"ports": [{"port": 80}]})).await;
        h.endpoints()
            .create(&PostParams::default(), &manual_endpoints("kept"))
            .await
            .unwrap();
        h.start_controller();
        eventually("leftover deleted", 20, || async {
            h.endpoints()
                .get_opt("leftover")
                .await
                .ok()?
                .is_none()
                .then_some(())
        })
        .await;
        assert!(h.endpoints().get_opt("kept").await.unwrap().is_some());

        // `kubectl apply` may write a hand-made Endpoints object just before
        // its selector-less Service: it must survive.
        h.endpoints()
            .create(&PostParams::default(), &manual_endpoints("early"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        h.service("early", json!({"ports": [{"port": 80}]})).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(h.endpoints().get_opt("early").await.unwrap().is_some());
        assert!(h.slices("early").await.is_empty());
        h.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_to_managed_objects_are_undone() {
    bounded(async {
        let h = Harness::start().await;
        h.pod("a", json!({"app": "web"}), 8080, "10.244.0.1", true)
            .await;
        h.service("web", web_spec(json!({"app": "web"}))).await;
        let first = h
            .wait_slices("web", "1 endpoint", |s| summary(s) == vec![up("a")])
            .await;
        h.wait_endpoints("web", "endpoints", |e| ready_ips(e).len() == 1)
            .await;

        h.slices_api()
            .delete(&first[0].name_any(), &DeleteParams::default())
            .await
            .unwrap();
        let again = h
            .wait_slices("web", "a new slice", |s| {
                s.len() == 1
                    && s[0].name_any() != first[0].name_any()
                    && summary(s) == vec![up("a")]
            })
            .await;
        assert_eq!(again.len(), 1);

        let junk =
            json!({"subsets": [{"addresses": [{"ip": "192.0.2.99"}], "ports": [{"port": 1}]}]});
        h.endpoints()
            .patch("web", &PatchParams::default(), &Patch::Merge(&junk))
            .await
            .unwrap();
        h.wait_endpoints("web", "endpoints restored", |e| {
            ready_ips(e) == set(&["10.244.0.1"])
        })
        .await;
        h.endpoints()
            .delete("web", &DeleteParams::default())
            .await
            .unwrap();
        h.wait_endpoints("web", "endpoints recreated", |e| {
            ready_ips(e) == set(&["10.244.0.1"])
        })
        .await;
        h.shutdown().await;
    })
    .await;
}
