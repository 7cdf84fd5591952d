//! Pod volumes: the acceptance pod in per-container mount namespaces (root
//! only; skipped otherwise), the environment-variable fallback, and
//! `FailedMount` while a source is missing.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::*;

async fn create_config(env: &Env, name: &str, data: serde_json::Value) {
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": name}, "data": data})).expect("cm");
    Api::<ConfigMap>::namespaced(env.client.clone(), "default")
        .create(&PostParams::default(), &cm)
        .await
        .expect("create configmap");
}

async fn create_secret(env: &Env, name: &str, data: serde_json::Value) {
    let s: Secret = serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
        .expect("secret");
    Api::<Secret>::namespaced(env.client.clone(), "default")
        .create(&PostParams::default(), &s)
        .await
        .expect("create secret");
}

fn volume_dir(env: &Env, pod: &Pod, volume: &str) -> PathBuf {
    env.node_dir()
        .join("pods")
        .join(pod.metadata.uid.as_deref().expect("uid"))
        .join("volumes")
        .join(volume)
}

/// Wait until `path` exists and `pred` holds for its text.
async fn wait_file(path: &Path, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if pred(&text) {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {} holds {text:?}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn lines(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The acceptance pod: env from a ConfigMap, a Secret and the Downward API;
/// a configMap volume at /etc/config, an emptyDir shared by two
/// containers, a secret volume with items and a mode, a downwardAPI volume
/// with labels, subPath, and readOnly, all at their mountPaths; private
/// /tmp; updates reach the files; exec probes see the mounts; the agent
/// adopts the containers after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acceptance_pod_sees_env_and_volumes_at_their_mount_paths() {
    if !node::net::is_root() {
        eprintln!("skipped: mount namespaces need root");
        return;
    }
    bounded(150, async {
        let host_had = |p: &str| Path::new(p).exists();
        let before: Vec<bool> = ["/etc/config", "/var/shared", "/shared", "/ro"]
            .iter()
            .map(|p| host_had(p))
            .collect();
        let mut env = start_opts(node::Options {
            network: node::NetworkMode::Auto,
            mounts: node::MountMode::Namespaces,
            ..Default::default()
        })
        .await;
        create_config(&env, "app-config", json!({"key": "v1", "greeting": "hello"})).await;
        create_secret(&env, "app-secret", json!({"password": "hunter2", "token": "abc"})).await;

        let app = r#"
{
echo "env=$CM_KEY/$SEC_password/$POD_NAME"
echo "config=$(cat /etc/config/key)"
echo "greeting=$(cat /etc/greeting.txt)"
echo "secret=$(cat /etc/secret/pw/password)"
echo "secretmode=$(stat -L -c %a /etc/secret/pw/password)"
echo "secretkeys=$(ls /etc/secret | tr '\n' ',')"
echo "labels=$(tr '\n' ',' < /etc/podinfo/labels)"
if touch /etc/config/new 2>/dev/null; then echo configro=no; else echo configro=yes; fi
echo private > /tmp/slipway-private-test
echo "tmp=$(ls -A /tmp | tr '\n' ',')"
echo "pwd=$(pwd)"
} > /var/shared/app.tmp && mv /var/shared/app.tmp /var/shared/app.txt
while true; do cat /etc/config/key > /var/shared/live.tmp; mv /var/shared/live.tmp /var/shared/live; sleep 0.2; done
"#;
        let side = r#"
while [ ! -f /shared/app.txt ] || [ ! -f /ro/marker ]; do sleep 0.1; done
{
echo "seen=$(grep -c = /shared/app.txt)"
if touch /ro/x 2>/dev/null; then echo ro=no; else echo ro=yes; fi
if touch /shared/x 2>/dev/null; then echo rw=yes; else echo rw=no; fi
echo "subdir=$(cat /ro/marker)"
echo "pwd=$(pwd)"
echo "config=$([ -e /etc/config ] && echo visible || echo absent)"
} > /shared/side.tmp && mv /shared/side.tmp /shared/side.txt
exec sleep 3600
"#;
        env.create(json!({
            "metadata": {"name": "acceptance", "labels": {"app": "demo", "tier": "web"}},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "volumes": [
                    {"name": "config", "configMap": {"name": "app-config"}},
                    {"name": "shared", "emptyDir": {}},
                    {"name": "secret", "secret": {"secretName": "app-secret",
                        "items": [{"key": "password", "path": "pw/password", "mode": 256}]}},
                    {"name": "podinfo", "downwardAPI": {"items": [
                        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}
                ],
                "containers": [
                    {
                        "name": "app", "image": "shell", "args": [app],
                        "env": [
                            {"name": "CM_KEY", "valueFrom": {"configMapKeyRef": {"name": "app-config", "key": "key"}}},
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                        ],
                        "envFrom": [{"secretRef": {"name": "app-secret"}, "prefix": "SEC_"}],
                        "volumeMounts": [
                            {"name": "config", "mountPath": "/etc/config"},
                            {"name": "config", "mountPath": "/etc/greeting.txt", "subPath": "greeting"},
                            {"name": "shared", "mountPath": "/var/shared"},
                            {"name": "secret", "mountPath": "/etc/secret"},
                            {"name": "podinfo", "mountPath": "/etc/podinfo"}
                        ],
                        "readinessProbe": {"exec": {"command": ["cat", "/etc/config/key"]}, "periodSeconds": 1}
                    },
                    {
                        "name": "side", "image": "shell", "args": [side],
                        "volumeMounts": [
                            {"name": "shared", "mountPath": "/shared"},
                            {"name": "shared", "mountPath": "/ro", "subPath": "sub", "readOnly": true}
                        ]
                    }
                ]
            }
        }))
        .await;
        let pod = env.wait_pod("acceptance", "Ready", ready).await;
        let shared = volume_dir(&env, &pod, "shared");
        std::fs::write(shared.join("sub").join("marker"), "from-the-volume").expect("marker");

        let app = lines(&wait_file(&shared.join("app.txt"), "app output", |t| t.contains("pwd=")).await);
        assert_eq!(app["env"], "v1/hunter2/acceptance");
        assert_eq!(app["config"], "v1");
        assert_eq!(app["greeting"], "hello");
        assert_eq!(app["secret"], "hunter2");
        assert_eq!(app["secretmode"], "400");
        assert_eq!(app["secretkeys"], "pw,", "only the listed item");
        assert_eq!(app["labels"], "app=\"demo\",tier=\"web\"");
        assert_eq!(app["configro"], "yes", "configMap volumes are read-only");
        assert_eq!(app["tmp"], "slipway-private-test,", "a private /tmp");
        assert_eq!(app["pwd"], "/");
        assert!(!Path::new("/tmp/slipway-private-test").exists());

        let side = lines(&wait_file(&shared.join("side.txt"), "side output", |t| t.contains("config=")).await);
        assert_eq!(side["seen"], "10", "the side container reads the app's file");
        assert_eq!(side["ro"], "yes", "readOnly is enforced");
        assert_eq!(side["rw"], "yes");
        assert_eq!(side["subdir"], "from-the-volume");
        assert_eq!(side["config"], "absent", "mounts are per container");

        // Nothing appeared on the host.
        let after: Vec<bool> = ["/etc/config", "/var/shared", "/shared", "/ro"]
            .iter()
            .map(|p| host_had(p))
            .collect();
        assert_eq!(before, after);

        // A ConfigMap update reaches the file; a label change the downwardAPI file.
        let patch = json!({"data": {"key": "v2"}});
        Api::<ConfigMap>::namespaced(env.client.clone(), "default")
            .patch("app-config", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .expect("patch configmap");
        wait_file(&shared.join("live"), "the updated key", |t| t == "v2").await;
        env.pods()
            .patch(
                "acceptance",
                &PatchParams::default(),
                &Patch::Merge(&json!({"metadata": {"labels": {"tier": "api"}}})),
            )
            .await
            .expect("patch pod");
        let podinfo = volume_dir(&env, &pod, "podinfo");
        wait_file(&podinfo.join("labels"), "the updated labels", |t| t.contains("tier=\"api\"")).await;

        // An agent restart adopts both containers; exec probes still work.
        let pids = recorded_pids(&env.node_dir());
        assert_eq!(pids.len(), 2);
        env.node.take().expect("node").abandon().await;
        env.start_node().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        env.wait_pod("acceptance", "Ready after restart", ready).await;
        let mut again = recorded_pids(&env.node_dir());
        again.sort();
        let mut pids_sorted = pids.clone();
        pids_sorted.sort();
        assert_eq!(again, pids_sorted);

        env.pods()
            .delete("acceptance", &DeleteParams::default())
            .await
            .expect("delete");
        let pod_dir = shared.parent().and_then(Path::parent).expect("pod dir").to_path_buf();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while pod_dir.exists() {
            assert!(tokio::time::Instant::now() < deadline, "pod dir left");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for pid in pids {
            assert!(!alive(pid));
        }
        env.shutdown().await;
    })
    .await;
}

/// Without mount namespaces the program finds its volumes through
/// `SLIPWAY_MOUNTS` and `SLIPWAY_VOLUME_<NAME>`; a workingDir inside a
/// mountPath is the volume's directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_mount_namespaces_volumes_are_found_through_env() {
    bounded(90, async {
        let env = start().await;
        create_config(&env, "cfg", json!({"key": "value-1"})).await;
        let script = r#"
{
echo "key=$(cat "$SLIPWAY_MOUNTS/etc/config/key")"
echo "sub=$(cat "$SLIPWAY_MOUNTS/etc/one")"
echo "pwd=$(pwd -P)"
echo "vol=$SLIPWAY_VOLUME_WORK_DATA"
echo "args=$0"
} > out.tmp && mv out.tmp out.txt
exec sleep 3600
"#;
        env.create(json!({
            "metadata": {"name": "fallback"},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "volumes": [
                    {"name": "config", "configMap": {"name": "cfg"}},
                    {"name": "work-data", "emptyDir": {}}
                ],
                "containers": [{
                    "name": "c", "image": "shell",
                    "args": [script, "$(SLIPWAY_MOUNTS)"],
                    "workingDir": "/work-data",
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/etc/config"},
                        {"name": "config", "mountPath": "/etc/one", "subPath": "key"},
                        {"name": "work-data", "mountPath": "/work-data"}
                    ]
                }]
            }
        }))
        .await;
        let pod = env
            .wait_pod("fallback", "Running", |p| {
                p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            })
            .await;
        let work = volume_dir(&env, &pod, "work-data");
        let out = lines(
            &wait_file(&work.join("out.txt"), "fallback output", |t| {
                t.contains("args=")
            })
            .await,
        );
        assert_eq!(out["key"], "value-1");
        assert_eq!(out["sub"], "value-1");
        let real = std::fs::canonicalize(&work).expect("canonical");
        assert_eq!(out["pwd"], real.display().to_string());
        assert_eq!(out["vol"], work.display().to_string());
        assert!(
            out["args"].ends_with("/containers/c/mounts"),
            "{}",
            out["args"]
        );
        // The written files follow the kubelet's atomic-writer layout.
        let cfg = volume_dir(&env, &pod, "config");
        assert_eq!(
            std::fs::read_link(cfg.join("key")).expect("link"),
            Path::new("..data/key")
        );
        assert!(std::fs::read_link(cfg.join("..data")).is_ok());
        env.shutdown().await;
    })
    .await;
}

/// A missing ConfigMap keeps the pod `ContainerCreating` with `FailedMount`
/// events; creating it lets the pod start. An optional one may be missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_source_is_a_failed_mount_until_it_exists() {
    bounded(90, async {
        let env = start().await;
        env.create(json!({
            "metadata": {"name": "waits"},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "volumes": [
                    {"name": "config", "configMap": {"name": "later"}},
                    {"name": "opt", "secret": {"secretName": "never", "optional": true}}
                ],
                "containers": [{
                    "name": "c", "image": "shell",
                    "args": ["cat \"$SLIPWAY_MOUNTS/cfg/k\" && exec sleep 3600"],
                    "volumeMounts": [
                        {"name": "config", "mountPath": "/cfg"},
                        {"name": "opt", "mountPath": "/opt-secret"}
                    ]
                }]
            }
        }))
        .await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let msg = loop {
            let evs = Api::<Event>::namespaced(env.client.clone(), "default")
                .list(&ListParams::default())
                .await
                .expect("events");
            if let Some(e) = evs.items.into_iter().find(|e| {
                e.involved_object.name.as_deref() == Some("waits")
                    && e.reason.as_deref() == Some("FailedMount")
            }) {
                break e.message.unwrap_or_default();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no FailedMount event"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            msg,
            "MountVolume.SetUp failed for volume \"config\" : configmap \"later\" not found"
        );
        let p = env.pods().get("waits").await.expect("pod");
        assert_eq!(
            waiting_reason(&p, "c").as_deref(),
            Some("ContainerCreating")
        );

        create_config(&env, "later", json!({"k": "now"})).await;
        env.wait_pod("waits", "Running", |p| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
        })
        .await;
        env.shutdown().await;
    })
    .await;
}
