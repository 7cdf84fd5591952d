//! The real kubectl sees what the controllers do: `describe rs` events and
//! the three `delete --cascade` modes.

mod common;

use common::{bounded, eventually, Env};
use kube::ResourceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_replicaset_events() {
    bounded(async {
        let env = Env::start().await;
        let uid = env.create_rs("shown", 2).await.uid().unwrap();
        let pods = eventually("2 pods", 20, || async {
            let p = env.owned_pods(&uid).await;
            (p.len() == 2).then_some(p)
        })
        .await;
        let out = eventually("events in describe", 20, || async {
            let out = env.kubectl_ok(&["describe", "rs", "shown"]).await;
            pods.iter()
                .all(|p| out.contains(&format!("Created pod: {}", p.name_any())))
                .then_some(out)
        })
        .await;
        assert!(out.contains("SuccessfulCreate"), "{out}");
        assert!(out.contains("replicaset-controller"), "{out}");
        assert!(out.contains("2 current / 2 desired"), "{out}");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_cascade_modes() {
    bounded(async {
        let env = Env::start().await;
        for name in ["bgk", "orphank", "fgk"] {
            let uid = env.create_rs(name, 2).await.uid().unwrap();
            eventually("2 pods", 20, || async {
                (env.owned_pods(&uid).await.len() == 2).then_some(())
            })
            .await;
        }
        env.kubectl_ok(&["delete", "rs", "bgk"]).await;
        eventually("background: pods gone", 20, || async {
            env.pods_of("bgk").await.is_empty().then_some(())
        })
        .await;

        env.kubectl_ok(&["delete", "rs", "orphank", "--cascade=orphan"])
            .await;
        assert!(env
            .replicasets()
            .get_opt("orphank")
            .await
            .unwrap()
            .is_none());
        let left = env.pods_of("orphank").await;
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|p| p.owner_references().is_empty()));

        // kubectl waits for the owner to disappear, so the pods are gone first.
        env.kubectl_ok(&["delete", "rs", "fgk", "--cascade=foreground"])
            .await;
        assert!(env.replicasets().get_opt("fgk").await.unwrap().is_none());
        assert!(env.pods_of("fgk").await.is_empty());
        env.shutdown().await;
    })
    .await;
}
