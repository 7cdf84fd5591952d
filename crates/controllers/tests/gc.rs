//! The garbage collector against a real API server: the three propagation
//! policies, generic owners, and dependents orphaned while it was down.

mod common;

use std::time::Duration;

use common::{bounded, eventually, pod, Env};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
use serde_json::json;

async fn rs_with_pods(env: &Env, name: &str, n: usize) -> (String, Vec<Pod>) {
    let uid = env.create_rs(name, n as i32).await.uid().expect("uid");
    let pods = eventually("pods", 20, || async {
        let p = env.owned_pods(&uid).await;
        (p.len() == n).then_some(p)
    })
    .await;
    (uid, pods)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_deletion_removes_dependents() {
    bounded(async {
        let env = Env::start().await;
        rs_with_pods(&env, "bg", 3).await;
        env.replicasets()
            .delete("bg", &DeleteParams::background())
            .await
            .expect("delete");
        // The owner goes at once; its pods follow.
        assert!(env.replicasets().get_opt("bg").await.unwrap().is_none());
        eventually("pods gone", 20, || async {
            env.pods_of("bg").await.is_empty().then_some(())
        })
        .await;
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_deletion_keeps_dependents_and_strips_the_owner() {
    bounded(async {
        let env = Env::start().await;
        let (uid, pods) = rs_with_pods(&env, "orph", 2).await;
        env.replicasets()
            .delete("orph", &DeleteParams::orphan())
            .await
            .expect("delete");
        eventually("replicaset gone", 20, || async {
            env.replicasets()
                .get_opt("orph")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        let left = env.pods_of("orph").await;
        assert_eq!(left.len(), 2);
        for p in &left {
            assert!(
                p.owner_references().iter().all(|o| o.uid != uid),
                "{} still owned",
                p.name_any()
            );
        }
        let mut want: Vec<String> = pods.iter().map(|p| p.name_any()).collect();
        let mut got: Vec<String> = left.iter().map(|p| p.name_any()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        // And they stay: nothing collects them later.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(env.pods_of("orph").await.len(), 2);
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_removes_dependents_first() {
    bounded(async {
        let env = Env::start().await;
        // A pod that cannot disappear until we say so, adopted by the
        // ReplicaSet: the owner must wait for it.
        let mut held = pod("held", json!({"app": "fg"}));
        held.metadata.finalizers = Some(vec!["example.com/hold".into()]);
        env.pods()
            .create(&PostParams::default(), &held)
            .await
            .expect("create held pod");
        let (uid, _) = rs_with_pods(&env, "fg", 3).await;
        assert!(env
            .owned_pods(&uid)
            .await
            .iter()
            .any(|p| p.name_any() == "held"));

        env.replicasets()
            .delete("fg", &DeleteParams::foreground())
            .await
            .expect("delete");
        let rs = env
            .replicasets()
            .get("fg")
            .await
            .expect("owner still there");
        assert!(rs.metadata.deletion_timestamp.is_some());
        assert!(rs.finalizers().iter().any(|f| f == "foregroundDeletion"));

        // The other pods go; the held one is terminating; the owner waits.
        eventually("unheld pods gone", 20, || async {
            let p = env.pods_of("fg").await;
            (p.len() == 1 && p[0].metadata.deletion_timestamp.is_some()).then_some(())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(env.replicasets().get_opt("fg").await.unwrap().is_some());

        // Release the last dependent: then the owner goes.
        let patch = json!({"metadata": {"finalizers": null}});
        env.pods()
            .patch("held", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("release finalizer");
        eventually("owner gone", 20, || async {
            env.replicasets()
                .get_opt("fg")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        assert!(env.pods_of("fg").await.is_empty());
        env.shutdown().await;
    })
    .await;
}

fn config_map(name: &str, owner: Option<(&str, &str)>) -> ConfigMap {
    let mut v = json!({"metadata": {"name": name}, "data": {"k": "v"}});
    if let Some((owner_name, uid)) = owner {
        v["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "ConfigMap", "name": owner_name, "uid": uid}]);
    }
    serde_json::from_value(v).expect("configmap")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_resource_can_own_any_other() {
    bounded(async {
        let env = Env::start().await;
        let cms: Api<ConfigMap> = Api::namespaced(env.client.clone(), "default");
        let owner = cms
            .create(&PostParams::default(), &config_map("owner", None))
            .await
            .expect("owner");
        let uid = owner.uid().unwrap();
        cms.create(
            &PostParams::default(),
            &config_map("dep", Some(("owner", &uid))),
        )
        .await
        .expect("dependent");
        // A second owner keeps an object alive while it exists.
        let other = cms
            .create(&PostParams::default(), &config_map("other", None))
            .await
            .expect("other");
        let mut both = config_map("both", Some(("owner", &uid)));
        if let Some(refs) = both.metadata.owner_references.as_mut() {
            refs.push(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                    api_version: "v1".into(),
                    kind: "ConfigMap".into(),
                    name: "other".into(),
                    uid: other.uid().unwrap(),
                    ..Default::default()
                },
            );
        }
        cms.create(&PostParams::default(), &both)
            .await
            .expect("both");

        cms.delete("owner", &DeleteParams::default())
            .await
            .expect("delete owner");
        eventually("dependent collected", 20, || async {
            cms.get_opt("dep").await.unwrap().is_none().then_some(())
        })
        .await;
        // "both" survives, without the reference to the missing owner.
        let both = eventually("dangling reference dropped", 20, || async {
            let b = cms.get_opt("both").await.unwrap()?;
            (b.owner_references().len() == 1).then_some(b)
        })
        .await;
        assert_eq!(both.owner_references()[0].name, "other");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_of_owners_deleted_while_down_are_collected_at_start() {
    bounded(async {
        let mut env = Env::server_only().await;
        let mut p = pod("leftover", json!({"app": "late"}));
        p.metadata.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "apps/v1".into(),
                kind: "ReplicaSet".into(),
                name: "gone".into(),
                uid: "00000000-0000-0000-0000-000000000001".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            },
        ]);
        env.pods()
            .create(&PostParams::default(), &p)
            .await
            .expect("pod");
        env.start_controllers();
        eventually("leftover collected", 20, || async {
            env.pods()
                .get_opt("leftover")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
        env.shutdown().await;
    })
    .await;
}
