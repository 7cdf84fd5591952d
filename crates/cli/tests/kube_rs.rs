//! kube-rs — the client our controllers use — works against slipway:
//! a watcher/reflector and a Controller see every change.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use kube::Client;
use test_support::Slipway;

async fn client(s: &Slipway) -> Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(cfg).expect("client")
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name, "labels": {"app": "kr"}},
        "spec": {"containers": [{"name": "c", "image": "slipway/demo:v1"}]}
    }))
    .expect("pod")
}

/// The reconciler cannot fail.
#[derive(Debug)]
enum Never {}

impl std::fmt::Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}
impl std::error::Error for Never {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflector_and_controller_see_every_change() {
    tokio::time::timeout(Duration::from_secs(90), async {
        let s = Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start");
        let c = client(&s).await;
        let pods: Api<Pod> = Api::namespaced(c.clone(), "default");

        let (reader, writer) = reflector::store::<Pod>();
        let rf = reflector(
            writer,
            watcher(pods.clone(), watcher::Config::default().labels("app=kr")),
        )
        .applied_objects()
        .for_each(|_| async {});
        let rf = tokio::spawn(rf);

        let reconciled = Arc::new(AtomicUsize::new(0));
        let seen = reconciled.clone();
        let ctl = Controller::new(pods.clone(), watcher::Config::default())
            .run(
                move |p: Arc<Pod>, _ctx: Arc<()>| {
                    let seen = seen.clone();
                    async move {
                        if p.metadata
                            .labels
                            .as_ref()
                            .and_then(|l| l.get("seen"))
                            .is_some()
                        {
                            seen.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok::<_, Never>(Action::await_change())
                    }
                },
                |_p, _e: &Never, _ctx| Action::await_change(),
                Arc::new(()),
            )
            .for_each(|_| async {});
        let ctl = tokio::spawn(ctl);

        for i in 0..5 {
            pods.create(&PostParams::default(), &pod(&format!("p{i}")))
                .await
                .expect("create");
        }
        let wait = |n: usize| {
            let reader = reader.clone();
            async move {
                while reader.state().len() != n {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        wait(5).await;

        for i in 0..5 {
            let patch = serde_json::json!({"metadata": {"labels": {"seen": "yes"}}});
            pods.patch(
                &format!("p{i}"),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .expect("patch");
        }
        while reconciled.load(Ordering::SeqCst) < 5 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The reflector's copies carry the new label.
        while reader
            .state()
            .iter()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l.contains_key("seen"))
            })
            .count()
            < 5
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Pods without a node are deleted at once.
        pods.delete("p0", &DeleteParams::default())
            .await
            .expect("delete");
        wait(4).await;
        rf.abort();
        ctl.abort();
    })
    .await
    .expect("test timed out");
}
