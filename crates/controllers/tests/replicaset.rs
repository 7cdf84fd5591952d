//! The ReplicaSet controller against a real API server, through kube-rs.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{bounded, eventually, pod, Env};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::json;

fn names(pods: &[Pod]) -> BTreeSet<String> {
    pods.iter().map(|p| p.name_any()).collect()
}

/// Mark a pod Running and Ready through `/status`, as a node agent would.
async fn make_ready(env: &Env, name: &str, since: &str) {
    let patch = json!({"status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": since}]
    }});
    env.pods()
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch pod status");
}

fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_pods_with_names_labels_owner_refs_and_status() {
    bounded(async {
        let env = Env::start().await;
        let rs = env.create_rs("web", 3).await;
        let uid = rs.uid().unwrap();
        let pods = eventually("3 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 3).then_some(p)
        })
        .await;
        for p in &pods {
            let name = p.name_any();
            assert!(
                name.starts_with("web-") && name.len() == "web-".len() + 5,
                "{name}"
            );
            assert_eq!(p.metadata.generate_name.as_deref(), Some("web-"));
            let labels = p.labels();
            assert_eq!(labels.get("app").map(String::as_str), Some("web"));
            assert_eq!(labels.get("tier").map(String::as_str), Some("web"));
            let refs = p.owner_references();
            assert_eq!(refs.len(), 1);
            let r = &refs[0];
            assert_eq!(
                (
                    r.api_version.as_str(),
                    r.kind.as_str(),
                    r.name.as_str(),
                    r.uid.as_str()
                ),
                ("apps/v1", "ReplicaSet", "web", uid.as_str())
            );
            assert_eq!(
                (r.controller, r.block_owner_deletion),
                (Some(true), Some(true))
            );
        }
        let status = eventually("status.replicas 3", 20, || async {
            let rs = env.replicasets().get("web").await.ok()?;
            let s = rs.status.clone()?;
            (s.replicas == 3 && s.observed_generation == rs.metadata.generation).then_some(s)
        })
        .await;
        assert_eq!(status.fully_labeled_replicas, Some(3));
        assert_eq!(status.ready_replicas, Some(0));
        assert_eq!(status.available_replicas, Some(0));
        assert_eq!(status.conditions, None);
        // No double creation once the dust settles.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(env.pods_of("web").await.len(), 3);
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scales_up_and_down_deleting_the_least_useful_pods() {
    bounded(async {
        let env = Env::start().await;
        let uid = env.create_rs("scale", 3).await.uid().unwrap();
        let first = eventually("3 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 3).then_some(p)
        })
        .await;
        let patch = json!({"spec": {"replicas": 5}});
        env.replicasets()
            .patch_scale("scale", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("scale up");
        let five = eventually("5 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 5).then_some(p)
        })
        .await;
        assert!(names(&first).is_subset(&names(&five)));

        // One Running and Ready pod: the others (Pending, not ready) go first.
        let keeper = first[1].name_any();
        make_ready(&env, &keeper, &now_rfc3339()).await;
        eventually("readyReplicas 1", 20, || async {
            let s = env.replicasets().get("scale").await.ok()?.status?;
            (s.ready_replicas == Some(1)).then_some(())
        })
        .await;
        let patch = json!({"spec": {"replicas": 1}});
        env.replicasets()
            .patch_scale("scale", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("scale down");
        let left = eventually("1 pod", 20, || async {
            let p = env.pods_of("scale").await;
            (p.len() == 1).then_some(p)
        })
        .await;
        assert_eq!(left[0].name_any(), keeper);
        let s = eventually("status.replicas 1", 20, || async {
            let s = env.replicasets().get("scale").await.ok()?.status?;
            (s.replicas == 1).then_some(s)
        })
        .await;
        assert_eq!((s.ready_replicas, s.available_replicas), (Some(1), Some(1)));

        let events = env.events_about("ReplicaSet", "scale", &uid).await;
        let deleted: BTreeSet<String> = events
            .iter()
            .filter(|e| e.reason.as_deref() == Some("SuccessfulDelete"))
            .filter_map(|e| e.message.clone())
            .collect();
        let want: BTreeSet<String> = names(&five)
            .into_iter()
            .filter(|n| *n != keeper)
            .map(|n| format!("Deleted pod: {n}"))
            .collect();
        assert_eq!(deleted, want);
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaces_a_pod_deleted_by_hand() {
    bounded(async {
        let env = Env::start().await;
        let uid = env.create_rs("heal", 2).await.uid().unwrap();
        let before = eventually("2 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2).then_some(p)
        })
        .await;
        let victim = before[0].name_any();
        env.pods()
            .delete(&victim, &DeleteParams::default())
            .await
            .expect("delete pod");
        let after = eventually("a replacement", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2 && !names(&p).contains(&victim)).then_some(p)
        })
        .await;
        assert!(names(&after).contains(&before[1].name_any()));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(env.pods_of("heal").await.len(), 2);
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_a_matching_orphan_and_releases_a_pod_that_stops_matching() {
    bounded(async {
        let env = Env::start().await;
        env.pods()
            .create(
                &PostParams::default(),
                &pod("stray", json!({"app": "adopt"})),
            )
            .await
            .expect("create orphan");
        let uid = env.create_rs("adopt", 2).await.uid().unwrap();
        let owned = eventually("2 owned pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2).then_some(p)
        })
        .await;
        assert!(names(&owned).contains("stray"), "{:?}", names(&owned));
        let stray = env.pods().get("stray").await.expect("stray");
        let r = &stray.owner_references()[0];
        assert_eq!(
            (r.kind.as_str(), r.controller, r.block_owner_deletion),
            ("ReplicaSet", Some(true), Some(true))
        );
        // Only one pod was created: the orphan counted.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(env.pods_of("adopt").await.len(), 2);

        // Relabel it: released, and replaced.
        let patch = json!({"metadata": {"labels": {"app": "elsewhere"}}});
        env.pods()
            .patch("stray", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("relabel");
        eventually("stray released", 20, || async {
            let p = env.pods().get("stray").await.ok()?;
            p.owner_references().is_empty().then_some(())
        })
        .await;
        let owned = eventually("a replacement", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2 && !names(&p).contains("stray")).then_some(p)
        })
        .await;
        assert_eq!(owned.len(), 2);
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_events_that_describe_lists() {
    bounded(async {
        let env = Env::start().await;
        let uid = env.create_rs("ev", 2).await.uid().unwrap();
        let pods = eventually("2 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2).then_some(p)
        })
        .await;
        let events = eventually("2 events", 20, || async {
            let e = env.events_about("ReplicaSet", "ev", &uid).await;
            (e.len() == 2).then_some(e)
        })
        .await;
        let messages: BTreeSet<String> = events.iter().filter_map(|e| e.message.clone()).collect();
        let want: BTreeSet<String> = names(&pods)
            .into_iter()
            .map(|n| format!("Created pod: {n}"))
            .collect();
        assert_eq!(messages, want);
        for e in &events {
            assert_eq!(e.reason.as_deref(), Some("SuccessfulCreate"));
            assert_eq!(e.type_.as_deref(), Some("Normal"));
            assert_eq!(
                e.source.as_ref().and_then(|s| s.component.as_deref()),
                Some("replicaset-controller")
            );
            let io = &e.involved_object;
            assert_eq!(
                (
                    io.kind.as_deref(),
                    io.api_version.as_deref(),
                    io.namespace.as_deref()
                ),
                (Some("ReplicaSet"), Some("apps/v1"), Some("default"))
            );
            assert_eq!(e.count, Some(1));
            assert!(e.first_timestamp.is_some() && e.last_timestamp.is_some());
        }
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn available_replicas_wait_for_min_ready_seconds() {
    bounded(async {
        let env = Env::start().await;
        let mut rs = common::rs("slow", 1);
        if let Some(spec) = rs.spec.as_mut() {
            spec.min_ready_seconds = Some(2);
        }
        let uid = env
            .replicasets()
            .create(&PostParams::default(), &rs)
            .await
            .expect("create")
            .uid()
            .unwrap();
        let pods = eventually("1 pod", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 1).then_some(p)
        })
        .await;
        make_ready(&env, &pods[0].name_any(), &now_rfc3339()).await;
        let s = eventually("ready", 20, || async {
            let s = env.replicasets().get("slow").await.ok()?.status?;
            (s.ready_replicas == Some(1)).then_some(s)
        })
        .await;
        assert_eq!(s.available_replicas, Some(0));
        // No further pod event arrives: only the controller's own requeue
        // can notice the pod turning available.
        eventually("available", 10, || async {
            let s = env.replicasets().get("slow").await.ok()?.status?;
            (s.available_replicas == Some(1)).then_some(())
        })
        .await;
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_failures_set_replica_failure_until_fixed() {
    bounded(async {
        let env = Env::start().await;
        // The template passes ReplicaSet validation, but its pods fail pod
        // validation (a bare, non-standard finalizer).
        let mut rs = common::rs("broken", 2);
        if let Some(t) = rs.spec.as_mut().and_then(|s| s.template.as_mut()) {
            if let Some(m) = t.metadata.as_mut() {
                m.finalizers = Some(vec!["bad".into()]);
            }
        }
        let uid = env
            .replicasets()
            .create(&PostParams::default(), &rs)
            .await
            .expect("create")
            .uid()
            .unwrap();
        let cond = eventually("ReplicaFailure", 20, || async {
            let s = env.replicasets().get("broken").await.ok()?.status?;
            s.conditions?
                .into_iter()
                .find(|c| c.type_ == "ReplicaFailure")
        })
        .await;
        assert_eq!(
            (cond.status.as_str(), cond.reason.as_deref()),
            ("True", Some("FailedCreate"))
        );
        let failed = eventually("FailedCreate event", 20, || async {
            let e = env.events_about("ReplicaSet", "broken", &uid).await;
            e.into_iter()
                .find(|e| e.reason.as_deref() == Some("FailedCreate"))
        })
        .await;
        assert_eq!(failed.type_.as_deref(), Some("Warning"));
        let msg = failed.message.unwrap_or_default();
        assert!(msg.starts_with("Error creating: "), "{msg}");
        assert_eq!(
            cond.message.as_deref(),
            msg.strip_prefix("Error creating: ")
        );
        // Slow start: the first batch of one failed, so only one try per sync.
        assert!(env.pods_of("broken").await.is_empty());

        let patch = json!({"spec": {"template": {"metadata": {"finalizers": null}}}});
        env.replicasets()
            .patch("broken", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("fix template");
        eventually("pods and no failure", 20, || async {
            let s = env.replicasets().get("broken").await.ok()?.status?;
            (s.replicas == 2 && s.conditions.is_none()).then_some(())
        })
        .await;
        env.shutdown().await;
    })
    .await;
}
