use super::*;
use serde_json::json;

const NODE: NodeResources = NodeResources {
    cpu_millis: 2000,
    memory_bytes: 1 << 30,
    ephemeral_bytes: 1 << 40,
};

fn pod(volumes: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"b": "2", "a": "1"},
                     "annotations": {"note": "x"}},
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "64Mi"}}}],
                 "volumes": volumes}
    }))
    .expect("pod")
}

fn cms() -> BTreeMap<String, ConfigMap> {
    [(
        "cm".to_string(),
        serde_json::from_value(json!({"metadata": {"name": "cm"},
            "data": {"a": "A", "b": "B"}, "binaryData": {"bin": "AAE="}}))
        .expect("cm"),
    )]
    .into()
}

fn secrets() -> BTreeMap<String, Secret> {
    [(
        "s".to_string(),
        serde_json::from_value(json!({"metadata": {"name": "s"}, "data": {"pw": "aHVudGVyMg=="}}))
            .expect("s"),
    )]
    .into()
}

fn payload_of(p: &Pod) -> Result<Option<Payload>, VolumeError> {
    let (c, s) = (cms(), secrets());
    let src = Sources {
        pod: p,
        node: &NODE,
        config_maps: &c,
        secrets: &s,
    };
    let v = &p
        .spec
        .as_ref()
        .expect("spec")
        .volumes
        .as_ref()
        .expect("volumes")[0];
    payload(v, &src)
}

fn files(p: &Payload) -> Vec<(String, String, u32)> {
    p.iter()
        .map(|(k, (b, m))| (k.clone(), String::from_utf8_lossy(b).into_owned(), *m))
        .collect()
}

fn s(k: &str, v: &str, m: u32) -> (String, String, u32) {
    (k.to_string(), v.to_string(), m)
}

#[test]
fn config_map_and_secret_payloads() {
    let p = pod(json!([{"name": "v", "configMap": {"name": "cm"}}]));
    let got = payload_of(&p).expect("ok").expect("written");
    assert_eq!(
        files(&got),
        [
            s("a", "A", 0o644),
            s("b", "B", 0o644),
            s("bin", "\0\u{1}", 0o644)
        ]
    );

    let p = pod(
        json!([{"name": "v", "configMap": {"name": "cm", "defaultMode": 0o600,
        "items": [{"key": "a", "path": "dir/x"}, {"key": "b", "path": "y", "mode": 0o444}]}}]),
    );
    let got = payload_of(&p).expect("ok").expect("written");
    assert_eq!(files(&got), [s("dir/x", "A", 0o600), s("y", "B", 0o444)]);

    let p = pod(
        json!([{"name": "v", "configMap": {"name": "cm", "items": [{"key": "zz", "path": "z"}]}}]),
    );
    assert_eq!(
        payload_of(&p).expect_err("missing key").to_string(),
        "configmap references non-existent config key: zz"
    );
    let p = pod(
        json!([{"name": "v", "configMap": {"name": "cm", "optional": true,
        "items": [{"key": "zz", "path": "z"}]}}]),
    );
    assert!(payload_of(&p).expect("ok").expect("written").is_empty());
    let p = pod(json!([{"name": "v", "configMap": {"name": "nope"}}]));
    assert_eq!(
        payload_of(&p).expect_err("missing").to_string(),
        "configmap \"nope\" not found"
    );
    let p = pod(
        json!([{"name": "v", "configMap": {"name": "cm", "items": [{"key": "a", "path": "../x"}]}}]),
    );
    assert!(matches!(payload_of(&p), Err(VolumeError::BadPath(_))));

    let p = pod(
        json!([{"name": "v", "secret": {"secretName": "s", "items": [{"key": "pw", "path": "p", "mode": 256}]}}]),
    );
    let got = payload_of(&p).expect("ok").expect("written");
    assert_eq!(files(&got), [s("p", "hunter2", 0o400)]);
    let p = pod(json!([{"name": "v", "secret": {"secretName": "gone"}}]));
    assert_eq!(
        payload_of(&p).expect_err("missing").to_string(),
        "secret \"gone\" not found"
    );
    let p = pod(json!([{"name": "v", "secret": {"secretName": "gone", "optional": true}}]));
    assert!(payload_of(&p).expect("ok").expect("written").is_empty());
}

#[test]
fn downward_and_projected_payloads() {
    let p = pod(json!([{"name": "v", "downwardAPI": {"items": [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "a", "fieldRef": {"fieldPath": "metadata.labels['a']"}},
        {"path": "mem", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}, "mode": 0o400}
    ]}}]));
    let got = payload_of(&p).expect("ok").expect("written");
    assert_eq!(
        files(&got),
        [
            s("a", "1", 0o644),
            s("labels", "a=\"1\"\nb=\"2\"", 0o644),
            s("mem", "64", 0o400)
        ]
    );

    let p = pod(
        json!([{"name": "v", "projected": {"defaultMode": 0o440, "sources": [
            {"configMap": {"name": "cm", "items": [{"key": "a", "path": "cm-a"}]}},
            {"secret": {"name": "s"}},
            {"downwardAPI": {"items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]}},
            {"serviceAccountToken": {"path": "token"}}
        ]}}]),
    );
    let got = payload_of(&p).expect("ok").expect("written");
    assert_eq!(
        files(&got),
        [
            s("cm-a", "A", 0o440),
            s("ns", "ns", 0o440),
            s("pw", "hunter2", 0o440),
            s("token", STUB_TOKEN, 0o440)
        ]
    );
    let p = pod(json!([{"name": "v", "emptyDir": {}}]));
    assert_eq!(payload_of(&p).expect("ok"), None);
}

#[test]
fn atomic_writer_swaps_payloads() {
    let dir = tempfile::tempdir().expect("tmp");
    let vol = dir.path().join("v");
    let mut p = Payload::new();
    p.insert("a".into(), (b"1".to_vec(), 0o644));
    p.insert("d/b".into(), (b"2".to_vec(), 0o600));
    assert!(write_payload(&vol, &p).expect("write"));
    assert_eq!(std::fs::read_to_string(vol.join("a")).expect("a"), "1");
    assert_eq!(std::fs::read_to_string(vol.join("d/b")).expect("b"), "2");
    assert_eq!(
        std::fs::read_link(vol.join("d")).expect("link"),
        Path::new("..data/d")
    );
    let mode = std::fs::metadata(vol.join("d/b"))
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let first = std::fs::read_link(vol.join("..data")).expect("data");
    // The same payload again changes nothing.
    assert!(!write_payload(&vol, &p).expect("write"));
    assert_eq!(std::fs::read_link(vol.join("..data")).expect("data"), first);

    // An update: a changed key, a removed key, a new one.
    let mut q = Payload::new();
    q.insert("a".into(), (b"one".to_vec(), 0o644));
    q.insert("c".into(), (b"3".to_vec(), 0o644));
    assert!(write_payload(&vol, &q).expect("write"));
    assert_eq!(std::fs::read_to_string(vol.join("a")).expect("a"), "one");
    assert_eq!(std::fs::read_to_string(vol.join("c")).expect("c"), "3");
    assert!(
        std::fs::symlink_metadata(vol.join("d")).is_err(),
        "removed key's link"
    );
    assert!(!vol.join(&first).exists(), "old payload removed");
    let names: BTreeSet<String> = std::fs::read_dir(&vol)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(current_payload(&vol), Some(q));
}

#[test]
fn setup_creates_empty_dirs_and_checks_host_paths() {
    let dir = tempfile::tempdir().expect("tmp");
    let host = dir.path().join("host");
    let file = dir.path().join("f");
    std::fs::write(&file, "x").expect("f");
    let p = pod(json!([
        {"name": "e", "emptyDir": {}},
        {"name": "h", "hostPath": {"path": host.join("made"), "type": "DirectoryOrCreate"}},
        {"name": "f", "hostPath": {"path": file, "type": "File"}},
        {"name": "c", "configMap": {"name": "cm"}}
    ]));
    let (c, s) = (cms(), secrets());
    let src = Sources {
        pod: &p,
        node: &NODE,
        config_maps: &c,
        secrets: &s,
    };
    let pod_dir = dir.path().join("pod");
    let v = setup(&pod_dir, &src).expect("setup");
    let e = &v.volumes["e"];
    assert_eq!(e.kind, VolumeKind::EmptyDir);
    assert!(e.path.is_dir());
    std::fs::write(e.path.join("keep"), "k").expect("write");
    assert!(host.join("made").is_dir());
    assert_eq!(v.volumes["f"].path, file);
    assert_eq!(v.volumes["c"].kind, VolumeKind::Written);
    // Set up again (an agent restart): emptyDir contents stay.
    setup(&pod_dir, &src).expect("again");
    assert!(e.path.join("keep").exists());

    let p = pod(json!([{"name": "h", "hostPath": {"path": file, "type": "Directory"}}]));
    let src = Sources {
        pod: &p,
        node: &NODE,
        config_maps: &c,
        secrets: &s,
    };
    let err = setup(&pod_dir, &src).expect_err("not a dir");
    assert_eq!(
        err.to_string(),
        format!(
            "MountVolume.SetUp failed for volume \"h\" : hostPath type check failed: {} is not a directory",
            file.display()
        )
    );
    let p = pod(json!([{"name": "n", "nfs": {"server": "x", "path": "/"}}]));
    let src = Sources {
        pod: &p,
        node: &NODE,
        config_maps: &c,
        secrets: &s,
    };
    assert!(setup(&pod_dir, &src)
        .expect_err("nfs")
        .to_string()
        .contains("nfs volumes are not supported"));
}
