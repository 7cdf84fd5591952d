//! kill -9 in the middle of a stream of writes loses nothing acknowledged;
//! watches resume from a resourceVersion or get 410.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use test_support::Slipway;

async fn client(s: &Slipway) -> Client {
    let kc = Kubeconfig::read_from(&s.kubeconfig).expect("read kubeconfig");
    let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(cfg).expect("client")
}

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "data": {"n": name}}))
        .expect("cm")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_loses_no_acknowledged_write() {
    tokio::time::timeout(Duration::from_secs(120), async {
        let mut s =
            Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start");
        let c = client(&s).await;
        let acked: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
        let mut writers = Vec::new();
        for w in 0..8 {
            let api: Api<ConfigMap> = Api::namespaced(c.clone(), "default");
            let acked = acked.clone();
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let name = format!("w{w}-{i}");
                    match api.create(&PostParams::default(), &cm(&name)).await {
                        Ok(o) => acked.lock().expect("lock").push((
                            name,
                            o.metadata.uid.unwrap_or_default(),
                            o.metadata.resource_version.unwrap_or_default(),
                        )),
                        Err(_) => break,
                    }
                }
            }));
        }
        // Let writes stream, then kill the server mid-stream.
        while acked.lock().expect("lock").len() < 200 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        s.kill9();
        for w in writers {
            let _ = w.await;
        }
        let acked = acked.lock().expect("lock").clone();
        assert!(acked.len() >= 200);

        s.spawn().expect("restart");
        let c = client(&s).await;
        let api: Api<ConfigMap> = Api::namespaced(c, "default");
        for (name, uid, rv) in &acked {
            let o = api
                .get(name)
                .await
                .unwrap_or_else(|e| panic!("acknowledged {name} lost: {e}"));
            assert_eq!(o.metadata.uid.as_deref(), Some(uid.as_str()), "{name}");
            assert_eq!(
                o.metadata.resource_version.as_deref(),
                Some(rv.as_str()),
                "{name}"
            );
        }

        // Resume a watch from an acknowledged revision: it replays what came after.
        let (first_name, _, first_rv) = &acked[0];
        let mut stream = api
            .watch(&WatchParams::default().timeout(5), first_rv)
            .await
            .expect("watch")
            .boxed();
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time");
        match ev {
            Some(Ok(WatchEvent::Added(o))) => {
                assert_ne!(o.metadata.name.as_deref(), Some(first_name.as_str()))
            }
            other => panic!("unexpected first event {other:?}"),
        }
        drop(stream);

        // With a short watch history, a revision older than it answers 410 Expired.
        s.stop();
        s.extra_args = vec!["--watch-history".into(), "60".into()];
        s.spawn().expect("restart with short history");
        let c = client(&s).await;
        let api: Api<ConfigMap> = Api::namespaced(c, "default");
        let mut stream = api
            .watch(&WatchParams::default().timeout(5), first_rv)
            .await
            .expect("watch old")
            .boxed();
        let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("event in time");
        match ev {
            Some(Ok(WatchEvent::Error(e))) => {
                assert_eq!((e.code, e.reason.as_str()), (410, "Expired"), "{e:?}")
            }
            other => panic!("expected 410, got {other:?}"),
        }
        // The latest revision is still resumable.
        let (_, _, last_rv) = acked
            .iter()
            .max_by_key(|(_, _, rv)| rv.parse::<i64>().unwrap_or(0))
            .expect("last");
        let mut stream = api
            .watch(&WatchParams::default().timeout(2), last_rv)
            .await
            .expect("watch new")
            .boxed();
        api.create(&PostParams::default(), &cm("after-restart"))
            .await
            .expect("create after restart");
        // Writes committed but not yet acknowledged when the server died come first.
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("event in time");
            match ev {
                Some(Ok(WatchEvent::Added(o)))
                    if o.metadata.name.as_deref() == Some("after-restart") =>
                {
                    break
                }
                Some(Ok(WatchEvent::Added(o))) => {
                    let n = o.metadata.name.unwrap_or_default();
                    assert!(
                        !acked.iter().any(|(a, _, _)| *a == n),
                        "acknowledged {n} replayed after the resume point"
                    );
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
    })
    .await
    .expect("test timed out");
}
