use super::*;
use crate::volumes::Volume;
use serde_json::json;

fn tools() -> Tools {
    Tools {
        unshare: PathBuf::from("/usr/bin/unshare"),
        nsenter: PathBuf::from("/usr/bin/nsenter"),
        chroot: PathBuf::from("/usr/sbin/chroot"),
        sh: PathBuf::from("/bin/sh"),
    }
}

fn vols(dir: &Path) -> PodVolumes {
    let mut v = PodVolumes::default();
    for (name, kind) in [
        ("data", VolumeKind::EmptyDir),
        ("cfg", VolumeKind::Written),
        ("host", VolumeKind::HostPath),
    ] {
        let path = dir.join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        v.volumes.insert(
            name.into(),
            Volume {
                name: name.into(),
                path,
                kind,
            },
        );
    }
    std::fs::write(dir.join("cfg").join("file"), "x").expect("file");
    v
}

fn container(mounts: serde_json::Value) -> Container {
    serde_json::from_value(json!({"name": "c", "volumeMounts": mounts})).expect("container")
}

#[test]
fn mounts_resolve_subpaths_and_read_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let v = vols(dir.path());
    let c = container(json!([
        {"name": "data", "mountPath": "/a/b/"},
        {"name": "cfg", "mountPath": "/etc/x"},
        {"name": "cfg", "mountPath": "/etc/one", "subPath": "file"},
        {"name": "data", "mountPath": "/s", "subPathExpr": "$(POD)/logs", "readOnly": true},
        {"name": "host", "mountPath": "/h"}
    ]));
    let env = vec![("POD".to_string(), "p1".to_string())];
    let m = container_mounts(&c, &v, &env).expect("mounts");
    let by_target = |t: &str| m.iter().find(|x| x.target == Path::new(t)).expect(t);
    assert_eq!(by_target("/a/b").source, dir.path().join("data"));
    assert!(!by_target("/a/b").read_only);
    assert!(
        by_target("/etc/x").read_only,
        "configMap-like volumes are read-only"
    );
    let one = by_target("/etc/one");
    assert!(one.file);
    assert_eq!(
        one.source,
        std::fs::canonicalize(dir.path().join("cfg/file")).expect("canon")
    );
    let s = by_target("/s");
    assert!(s.read_only);
    assert!(dir.path().join("data/p1/logs").is_dir(), "subPath created");
    assert!(by_target("/h").recursive);
    // Depth order: parents first.
    let depths: Vec<usize> = m.iter().map(|x| x.target.components().count()).collect();
    let mut sorted = depths.clone();
    sorted.sort();
    assert_eq!(depths, sorted);
}

#[test]
fn bad_mounts_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let v = vols(dir.path());
    std::os::unix::fs::symlink("/etc", dir.path().join("data").join("escape")).expect("link");
    let cases = [
        (
            json!([{"name": "nope", "mountPath": "/x"}]),
            "cannot find volume",
        ),
        (
            json!([{"name": "data", "mountPath": "rel"}]),
            "invalid mountPath",
        ),
        (
            json!([{"name": "data", "mountPath": "/x", "subPath": "../up"}]),
            "must be a relative path",
        ),
        (
            json!([{"name": "data", "mountPath": "/x", "subPath": "escape"}]),
            "not within volume path",
        ),
        (
            json!([{"name": "cfg", "mountPath": "/x", "subPath": "missing"}]),
            "does not exist",
        ),
    ];
    for (mounts, want) in cases {
        let err = container_mounts(&container(mounts.clone()), &v, &[]).expect_err("refused");
        assert!(err.contains(want), "{mounts}: {err}");
    }
}

fn mount(target: &str, source: &Path, ro: bool) -> Mount {
    Mount {
        target: PathBuf::from(target),
        source: source.to_path_buf(),
        read_only: ro,
        recursive: false,
        file: !source.is_dir(),
        volume: "v".into(),
    }
}

#[test]
fn script_places_missing_paths_in_skeletons() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    let missing_top = format!("/slipway-unit-{}", std::process::id());
    let mounts = vec![
        mount("/etc/slipway-unit-missing/deeper", &src, true),
        mount(&missing_top, &src, false),
        mount(&format!("{missing_top}/nested"), &src, false),
        mount("/tmp/cache", &src, false),
    ];
    let staging = dir.path().join("ns");
    let script_path = dir.path().join("mounts.sh");
    let text = script(&ScriptInput {
        mounts: &mounts,
        staging: &staging,
        working_dir: Path::new("/"),
        script: &script_path,
        tools: &tools(),
    })
    .expect("script");
    // `/` needs a skeleton: a new root, entered through chroot.
    assert!(text.contains("_slipway_r=\"$_slipway_s\"/root"), "{text}");
    assert!(
        text.contains("'/usr/sbin/chroot' \"$_slipway_r\" /bin/sh -c"),
        "{text}"
    );
    // `/etc` gets a skeleton too, moved over the root's /etc.
    assert!(
        text.contains("m --move \"$_slipway_s\"/k1 \"$_slipway_r\"'/etc'"),
        "{text}"
    );
    assert!(
        text.contains("mkdir -p \"$_slipway_s\"/k1/'slipway-unit-missing/deeper'"),
        "{text}"
    );
    // Nested and /tmp mounts are created at run time, in their volume or the private /tmp.
    let nested = format!("\"$_slipway_r\"'{missing_top}'/nested");
    assert!(!text.contains(&nested));
    assert!(
        text.contains(&format!("\"$_slipway_r\"'{missing_top}/nested'")),
        "{text}"
    );
    assert!(
        text.contains("[ -e \"$_slipway_s\"/tmp'/cache' ] || mkdir -p \"$_slipway_s\"/tmp'/cache'"),
        "{text}"
    );
    assert!(text.contains("m -o remount,bind,ro \"$_slipway_r\"'/etc/slipway-unit-missing/deeper'"));
    assert!(text.contains("m --move \"$_slipway_s\"/tmp \"$_slipway_r\"/tmp"));
    assert!(!Path::new("/etc/slipway-unit-missing").exists());
}

#[test]
fn script_without_missing_paths_stays_in_the_host_root() {
    let dir = tempfile::tempdir().expect("tmp");
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).expect("src");
    let mounts = vec![mount("/etc", &src, false)];
    let text = script(&ScriptInput {
        mounts: &mounts,
        staging: &dir.path().join("ns"),
        working_dir: Path::new("/srv/it's"),
        script: &dir.path().join("mounts.sh"),
        tools: &tools(),
    })
    .expect("script");
    assert!(text.contains("\n_slipway_r=\n"), "{text}");
    assert!(!text.contains("chroot"));
    assert!(text.contains("cd -- '/srv/it'\\''s'"), "{text}");
    assert!(text.ends_with("exec \"$@\"\n"));
}

/// Runs a real script in a mount namespace (root only).
#[test]
fn script_runs_in_a_mount_namespace() {
    if !crate::net::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let Ok(Some(tools)) = open(MountMode::Auto, dir.path()) else {
        eprintln!("skipped: no mount namespaces here");
        return;
    };
    let vol = dir.path().join("vol");
    std::fs::create_dir_all(&vol).expect("vol");
    std::fs::write(vol.join("key"), "value").expect("key");
    let top = format!("/slipway-unit-run-{}", std::process::id());
    let mounts = vec![
        mount("/etc/slipway-unit-cfg", &vol, true),
        mount(&top, &vol, false),
    ];
    let staging = dir.path().join("ns");
    std::fs::create_dir_all(&staging).expect("staging");
    let script_path = dir.path().join("mounts.sh");
    let text = script(&ScriptInput {
        mounts: &mounts,
        staging: &staging,
        working_dir: Path::new(&top),
        script: &script_path,
        tools: &tools,
    })
    .expect("script");
    std::fs::write(&script_path, text).expect("write");
    let argv = wrap(
        &tools,
        &[],
        &script_path,
        &[
            "sh".into(),
            "-c".into(),
            "cat /etc/slipway-unit-cfg/key; echo; pwd; touch /etc/slipway-unit-cfg/x 2>/dev/null && echo rw || echo ro; ls -A /tmp | wc -l; cat /etc/hostname >/dev/null && echo host-etc".into(),
        ],
    );
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, format!("value\n{top}\nro\n0\nhost-etc\n"));
    assert!(!Path::new(&top).exists());
    assert!(!Path::new("/etc/slipway-unit-cfg").exists());
}

#[test]
fn a_script_without_mounts_still_gives_a_private_tmp() {
    if !crate::net::is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let Ok(Some(tools)) = open(MountMode::Auto, dir.path()) else {
        eprintln!("skipped: no mount namespaces here");
        return;
    };
    let staging = dir.path().join("ns");
    std::fs::create_dir_all(&staging).expect("staging");
    let script_path = dir.path().join("mounts.sh");
    let text = script(&ScriptInput {
        mounts: &[],
        staging: &staging,
        working_dir: Path::new("/etc"),
        script: &script_path,
        tools: &tools,
    })
    .expect("script");
    // One mount, straight onto /tmp.
    assert_eq!(text.matches("\nm ").count(), 1, "{text}");
    std::fs::write(&script_path, text).expect("write");
    let marker = format!("/tmp/slipway-unit-private-{}", std::process::id());
    std::fs::write(&marker, "host").expect("marker");
    let argv = wrap(
        &tools,
        &[],
        &script_path,
        &[
            "sh".into(),
            "-c".into(),
            format!("pwd; test -e {marker} && echo shared || echo private; touch {marker}-inside"),
        ],
    );
    let out = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .expect("run");
    let _ = std::fs::remove_file(&marker);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout, "/etc\nprivate\n");
    assert!(!Path::new(&format!("{marker}-inside")).exists());
}
