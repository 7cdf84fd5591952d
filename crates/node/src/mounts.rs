//! Where a container sees its volumes.
//!
//! # Mount namespaces ([`MountMode::Namespaces`], root on Linux)
//! Every container process starts as
//! `[ip netns exec NS] unshare --mount --propagation private /bin/sh mounts.sh ARGV…`:
//! `unshare` gives it a mount namespace of its own (per container, as a
//! container runtime does: mounts are per container, volumes are shared
//! because they bind the same directories), and the generated `mounts.sh`
//! (in the container's directory) mounts, then `exec`s the program, so the
//! pid the agent records is the program's, its process group is the one
//! the agent signals, and a restarted agent adopts it as before. Nothing
//! the script does is visible on the host.
//!
//! What the script does, in this order:
//! 1. A private tmpfs on the container's staging directory (`…/ns`), for
//!    everything below.
//! 2. A mountPath whose directory does not exist on the host is never
//!    created on the host. Its deepest existing ancestor `A` is replaced,
//!    inside the namespace only, by a *skeleton*: a tmpfs holding, for every
//!    entry of `A`, a bind mount of it (directories recursively, so what is
//!    mounted below them stays), or the same symlink. The missing
//!    directories are created in that tmpfs. When `A` is `/` itself (e.g. a
//!    mountPath `/data`), the skeleton becomes a new root and the program
//!    is started through `chroot` into it.
//! 3. A private `/tmp`: a tmpfs (or the volume mounted at `/tmp`), prepared
//!    aside and moved over `/tmp` last, so volume sources under the host's
//!    `/tmp` stay reachable until every bind is done.
//! 4. Bind mounts of each volume (recursive for hostPath), parents before
//!    children; `mount -o remount,bind,ro` for `readOnly` mounts and for
//!    configMap, secret, downwardAPI and projected volumes.
//! 5. `cd` to `workingDir` (default `/`, as in a container) and `exec`.
//!
//! The namespace's propagation is private: nothing propagates back to the
//! host, and nothing the host mounts later appears in the container. A
//! container's namespace holds copies of the `/run/netns/<pod>` mounts of
//! pods that existed when it started; they do not pin those pods' network
//! namespaces, because `ip netns del` unlinks the mount point, and the
//! kernel (3.18+) detaches every mount on a deleted file in every
//! namespace (tested in `tests/netns.rs`).
//!
//! Exec probes and hooks enter the container's mount and network
//! namespaces, root and working directory with `nsenter --target PID`,
//! once the script has finished (the process no longer runs it).
//!
//! Limits: entries of a skeleton directory are bound when the container
//! starts: a file the host later creates directly in that directory is not
//! seen, and a file the host replaces by rename keeps its old contents
//! (inside a bound subdirectory everything is live). A mountPath through a
//! dangling symlink is refused. `mountPropagation` and `recursiveReadOnly`
//! are ignored. As upstream, a `subPath` mount of a configMap-like volume
//! binds the file itself and so does not see later updates. Each container
//! start costs a few milliseconds of `mount` calls, more when a skeleton
//! is needed (one bind per entry of the directory).
//!
//! # Without mount namespaces ([`MountMode::Host`], or not root)
//! The program runs in the host's filesystem; mount paths cannot be
//! honoured, so the agent tells the program where its volumes are:
//! - `SLIPWAY_MOUNTS=<container dir>/mounts`, a tree of symlinks in which
//!   `$SLIPWAY_MOUNTS/<mountPath>` is the volume (after `subPath`): a
//!   program reads `$SLIPWAY_MOUNTS/etc/config/key` for `/etc/config/key`;
//!   `$(SLIPWAY_MOUNTS)` may be used in `command` and `args`;
//! - `SLIPWAY_VOLUME_<NAME>` (name upper-cased, `-` and `.` as `_`) is the
//!   directory of each volume the container mounts;
//! - a `workingDir` inside a mountPath is rewritten to the volume's path.
//!   `readOnly` is not enforced and `/tmp` is the host's.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::Container;

use crate::expand::expand;
use crate::volumes::{PodVolumes, VolumeKind};

/// Whether containers get their own mount namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountMode {
    /// Mount namespaces when root with a working `unshare`, else [`MountMode::Host`].
    #[default]
    Auto,
    /// Mount namespaces (fails to start when they are unavailable).
    Namespaces,
    /// The host's filesystem; volumes are found through environment variables.
    Host,
}

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mount namespaces unavailable: {0}")]
    Unavailable(String),
}

/// The programs the mount-namespace mode runs, by absolute path.
#[derive(Debug, Clone)]
pub struct Tools {
    pub unshare: PathBuf,
    pub nsenter: PathBuf,
    pub chroot: PathBuf,
    pub sh: PathBuf,
}

/// A system `PATH` for finding the tools (and for the script itself).
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `name` in the agent's PATH, else in [`SYSTEM_PATH`].
pub(crate) fn find(name: &str) -> Option<PathBuf> {
    let agent_path = std::env::var("PATH").unwrap_or_default();
    agent_path
        .split(':')
        .chain(SYSTEM_PATH.split(':'))
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Decide the mode: `Some(tools)` when containers get mount namespaces.
/// The check really creates a namespace and mounts a tmpfs in it (on a
/// directory under `data_dir`, invisible to the host).
pub fn open(mode: MountMode, data_dir: &Path) -> Result<Option<Tools>, MountError> {
    if mode == MountMode::Host {
        return Ok(None);
    }
    match probe(data_dir) {
        Ok(t) => Ok(Some(t)),
        Err(e) if mode == MountMode::Auto => {
            tracing::info!(reason = %e, "no mount namespaces; volumes are exposed through SLIPWAY_MOUNTS");
            Ok(None)
        }
        Err(e) => Err(MountError::Unavailable(e)),
    }
}

fn probe(data_dir: &Path) -> Result<Tools, String> {
    if !crate::net::is_root() {
        return Err("not running as root".into());
    }
    let get = |n: &str| find(n).ok_or_else(|| format!("`{n}` not found"));
    let tools = Tools {
        unshare: get("unshare")?,
        nsenter: get("nsenter")?,
        chroot: get("chroot")?,
        sh: PathBuf::from("/bin/sh"),
    };
    let dir = data_dir.join("node").join("mount-probe");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let out = std::process::Command::new(&tools.unshare)
        .args(["--mount", "--propagation", "private"])
        .arg(&tools.sh)
        .arg("-c")
        .arg(r#"mount -t tmpfs slipway-probe "$1""#)
        .arg("sh")
        .arg(&dir)
        .env("PATH", SYSTEM_PATH)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("running unshare: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "unshare --mount: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(tools)
}

/// One mount of a container, resolved against the pod's volumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The normalised absolute mountPath.
    pub target: PathBuf,
    /// What appears there: the volume, or the path `subPath` names in it.
    pub source: PathBuf,
    pub read_only: bool,
    /// Bind submounts too (hostPath).
    pub recursive: bool,
    /// The source is not a directory.
    pub file: bool,
    pub volume: String,
}

/// The container's volumeMounts against the pod's volumes; `subPathExpr`
/// is expanded with `env`. Errors read like the kubelet's.
pub fn container_mounts(
    c: &Container,
    vols: &PodVolumes,
    env: &[(String, String)],
) -> Result<Vec<Mount>, String> {
    let lookup: BTreeMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut out = Vec::new();
    for vm in c.volume_mounts.iter().flatten() {
        let vol = vols.volumes.get(&vm.name).ok_or_else(|| {
            format!(
                "cannot find volume {:?} to mount into container {:?}",
                vm.name, c.name
            )
        })?;
        let target = clean_absolute(&vm.mount_path)
            .ok_or_else(|| format!("invalid mountPath {:?}", vm.mount_path))?;
        let sub = match (&vm.sub_path, &vm.sub_path_expr) {
            (Some(s), _) if !s.is_empty() => s.clone(),
            (_, Some(e)) if !e.is_empty() => expand(e, |n| lookup.get(n).map(|v| v.to_string())),
            _ => String::new(),
        };
        let source = if sub.is_empty() {
            vol.path.clone()
        } else {
            subpath(vol, &sub).map_err(|e| {
                format!(
                    "failed to prepare subPath for volumeMount {:?} of container {:?}: {e}",
                    vm.name, c.name
                )
            })?
        };
        let file = !source.is_dir();
        out.push(Mount {
            target,
            source,
            read_only: vm.read_only == Some(true) || vol.kind.always_read_only(),
            recursive: vol.kind == VolumeKind::HostPath,
            file,
            volume: vm.name.clone(),
        });
    }
    // Parents before children, like a runtime sorting by depth.
    out.sort_by_key(|m| m.target.components().count());
    Ok(out)
}

/// Resolve `sub` inside the volume: it must stay inside it (after symlinks);
/// a missing directory is created in writable volumes, as upstream does.
fn subpath(vol: &crate::volumes::Volume, sub: &str) -> Result<PathBuf, String> {
    let rel = crate::volumes::clean_relative(sub)
        .filter(|_| !sub.starts_with('/'))
        .ok_or_else(|| format!("subPath {sub:?} must be a relative path without '..'"))?;
    let p = vol.path.join(&rel);
    if std::fs::symlink_metadata(&p).is_err() {
        if vol.kind.always_read_only() {
            return Err(format!("{} does not exist", p.display()));
        }
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    let real = std::fs::canonicalize(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let base =
        std::fs::canonicalize(&vol.path).map_err(|e| format!("{}: {e}", vol.path.display()))?;
    if !real.starts_with(&base) {
        return Err(format!(
            "subpath {:?} not within volume path {:?}",
            real.display().to_string(),
            base.display().to_string()
        ));
    }
    Ok(real)
}

/// `/a/./b/` → `/a/b`; `None` for relative paths, `..` and `/` itself.
fn clean_absolute(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    if !path.is_absolute() {
        return None;
    }
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(s) => out.push(s),
            _ => return None,
        }
    }
    (out != Path::new("/")).then_some(out)
}

// === the mount script ===

/// Where a target lives while the script runs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// Under the (possibly new) root: `"$_slipway_r"/path`.
    Root(PathBuf),
    /// Under the private /tmp being prepared: `"$_slipway_s"/tmp/rest`.
    Tmp(PathBuf),
}

impl Place {
    fn shell(&self) -> String {
        match self {
            Place::Root(p) => format!("\"$_slipway_r\"{}", q(&p.to_string_lossy())),
            Place::Tmp(p) if p.as_os_str().is_empty() => "\"$_slipway_s\"/tmp".to_string(),
            Place::Tmp(p) => format!(
                "\"$_slipway_s\"/tmp{}",
                q(&format!("/{}", p.to_string_lossy()))
            ),
        }
    }
    fn join(&self, rest: &Path) -> Place {
        match self {
            Place::Root(p) => Place::Root(p.join(rest)),
            Place::Tmp(p) => Place::Tmp(p.join(rest)),
        }
    }
}

/// Single-quote `s` for sh.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What the script needs besides the mounts.
pub struct ScriptInput<'a> {
    pub mounts: &'a [Mount],
    /// A directory on the host (in the container's directory) that the
    /// script mounts its staging tmpfs on.
    pub staging: &'a Path,
    /// The working directory inside the container.
    pub working_dir: &'a Path,
    /// The script's own path (it shows in the command line until `exec`).
    pub script: &'a Path,
    pub tools: &'a Tools,
}

/// A skeleton: directory `dir` (existing on the host, canonical) replaced
/// by a tmpfs of binds of its entries, plus the missing paths to create.
struct Skeleton {
    dir: PathBuf,
    create: Vec<(PathBuf, bool)>,
}

/// Generate `mounts.sh`. Called as `sh mounts.sh ARGV…`.
pub fn script(inp: &ScriptInput<'_>) -> Result<String, String> {
    let tmp = Path::new("/tmp");
    let mut skeletons: BTreeMap<PathBuf, Skeleton> = BTreeMap::new();
    let mut placed: Vec<(PathBuf, Place)> = Vec::new();
    // (place, mount, create-at-run-time)
    let mut binds: Vec<(Place, &Mount, bool)> = Vec::new();
    let mut tmp_volume: Option<&Mount> = None;

    for m in inp.mounts {
        let t = &m.target;
        if t == tmp {
            tmp_volume = Some(m);
            placed.push((t.clone(), Place::Tmp(PathBuf::new())));
            continue;
        }
        // Inside an earlier mount (the deepest): created in that volume.
        if let Some((base, place)) = placed
            .iter()
            .filter(|(b, _)| t.starts_with(b) && t != b)
            .max_by_key(|(b, _)| b.components().count())
        {
            let rest = t.strip_prefix(base).unwrap_or(t);
            let p = place.join(rest);
            placed.push((t.clone(), p.clone()));
            binds.push((p, m, true));
            continue;
        }
        if let Ok(rest) = t.strip_prefix(tmp) {
            let p = Place::Tmp(rest.to_path_buf());
            placed.push((t.clone(), p.clone()));
            binds.push((p, m, true));
            continue;
        }
        let (existing, missing) = split_existing(t)?;
        let real = std::fs::canonicalize(&existing)
            .map_err(|e| format!("mountPath {}: {e}", t.display()))?;
        let p = Place::Root(real.join(&missing));
        if !missing.as_os_str().is_empty() {
            if !real.is_dir() {
                return Err(format!(
                    "mountPath {}: {} is not a directory",
                    t.display(),
                    existing.display()
                ));
            }
            skeletons
                .entry(real.clone())
                .or_insert_with(|| Skeleton {
                    dir: real.clone(),
                    create: Vec::new(),
                })
                .create
                .push((missing.clone(), m.file));
        }
        placed.push((t.clone(), p.clone()));
        binds.push((p, m, false));
    }

    let mut s = String::new();
    let line = |s: &mut String, l: &str| {
        s.push_str(l);
        s.push('\n');
    };
    line(&mut s, "#!/bin/sh");
    line(&mut s, "# Generated by the slipway node agent: this container's mounts (see the node crate's mounts.rs).");
    line(
        &mut s,
        "_slipway_path=\"${PATH-}\"; _slipway_path_set=\"${PATH+set}\"",
    );
    line(&mut s, &format!("PATH={}", q(SYSTEM_PATH)));
    line(
        &mut s,
        "fail() { echo \"slipway: setting up mounts: $*\" >&2; exit 127; }",
    );
    line(&mut s, "m() { mount \"$@\" || fail \"mount $*\"; }");
    if binds.is_empty() && skeletons.is_empty() && tmp_volume.is_none() {
        // Nothing to place: the private /tmp goes straight onto /tmp,
        // without the staging area (each mount is a process started).
        if tmp.is_dir() {
            line(&mut s, "m -t tmpfs -o mode=1777 slipway-tmp /tmp");
        }
        finish_script(&mut s, inp, false);
        return Ok(s);
    }
    line(
        &mut s,
        &format!("_slipway_s={}", q(&inp.staging.to_string_lossy())),
    );
    line(
        &mut s,
        "m -t tmpfs -o mode=0700 slipway-staging \"$_slipway_s\"",
    );

    let new_root = skeletons.contains_key(Path::new("/"));
    if new_root {
        line(&mut s, "_slipway_r=\"$_slipway_s\"/root");
    } else {
        line(&mut s, "_slipway_r=");
    }
    // Shallow skeletons first, so deeper ones land inside them.
    let mut order: Vec<&Skeleton> = skeletons.values().collect();
    order.sort_by_key(|k| k.dir.components().count());
    for (i, k) in order.iter().enumerate() {
        let at_root = k.dir == Path::new("/");
        let var = if at_root {
            "\"$_slipway_r\"".to_string()
        } else {
            format!("\"$_slipway_s\"/k{i}")
        };
        let meta = std::fs::metadata(&k.dir).map_err(|e| format!("{}: {e}", k.dir.display()))?;
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            meta.permissions().mode() & 0o7777
        };
        let (uid, gid) = {
            use std::os::unix::fs::MetadataExt;
            (meta.uid(), meta.gid())
        };
        line(&mut s, &format!("mkdir {var} || fail mkdir"));
        line(
            &mut s,
            &format!("m -t tmpfs -o mode={mode:o},uid={uid},gid={gid} slipway-skeleton {var}"),
        );
        let rd = std::fs::read_dir(&k.dir).map_err(|e| format!("{}: {e}", k.dir.display()))?;
        let mut entries: Vec<_> = rd.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().to_string();
            let from = q(&k.dir.join(&name).to_string_lossy());
            let to = format!("{var}/{}", q(&name));
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                let Ok(target) = std::fs::read_link(e.path()) else {
                    continue;
                };
                line(
                    &mut s,
                    &format!("ln -s {} {to} || fail ln", q(&target.to_string_lossy())),
                );
            } else if ft.is_dir() {
                line(&mut s, &format!("mkdir {to} && m --rbind {from} {to}"));
            } else {
                line(&mut s, &format!(": > {to} && m --bind {from} {to}"));
            }
        }
        for (rel, file) in &k.create {
            let p = format!("{var}/{}", q(&rel.to_string_lossy()));
            if *file {
                if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
                    line(
                        &mut s,
                        &format!(
                            "mkdir -p {var}/{} || fail mkdir",
                            q(&parent.to_string_lossy())
                        ),
                    );
                }
                line(&mut s, &format!("[ -e {p} ] || : > {p} || fail create"));
            } else {
                line(&mut s, &format!("mkdir -p {p} || fail mkdir"));
            }
        }
        if !at_root {
            let dest = Place::Root(k.dir.clone()).shell();
            line(&mut s, &format!("m --move {var} {dest}"));
        }
    }

    // The private /tmp, prepared aside.
    let host_tmp = tmp.is_dir();
    line(&mut s, "mkdir \"$_slipway_s\"/tmp || fail mkdir");
    match tmp_volume {
        Some(m) => line(
            &mut s,
            &format!(
                "m {} {} \"$_slipway_s\"/tmp",
                if m.recursive { "--rbind" } else { "--bind" },
                q(&m.source.to_string_lossy())
            ),
        ),
        None => line(
            &mut s,
            "m -t tmpfs -o mode=1777 slipway-tmp \"$_slipway_s\"/tmp",
        ),
    }

    for (place, m, create) in &binds {
        let p = place.shell();
        if *create {
            if m.file {
                line(
                    &mut s,
                    &format!("[ -e {p} ] || {{ mkdir -p \"$(dirname -- {p})\" && : > {p}; }} || fail create {p}"),
                );
            } else {
                line(
                    &mut s,
                    &format!("[ -e {p} ] || mkdir -p {p} || fail mkdir {p}"),
                );
            }
        }
        line(
            &mut s,
            &format!(
                "m {} {} {p}",
                if m.recursive { "--rbind" } else { "--bind" },
                q(&m.source.to_string_lossy())
            ),
        );
    }
    if let Some(m) = tmp_volume.filter(|m| m.read_only) {
        let _ = m;
        line(&mut s, "m -o remount,bind,ro \"$_slipway_s\"/tmp");
    }
    for (place, m, _) in &binds {
        if m.read_only {
            line(&mut s, &format!("m -o remount,bind,ro {}", place.shell()));
        }
    }
    if host_tmp {
        line(&mut s, "m --move \"$_slipway_s\"/tmp \"$_slipway_r\"/tmp");
    }
    finish_script(&mut s, inp, new_root);
    Ok(s)
}

/// The script's end: the program's PATH back, then into the working
/// directory (and the new root, if there is one) and exec the program.
fn finish_script(s: &mut String, inp: &ScriptInput<'_>, new_root: bool) {
    let line = |s: &mut String, l: &str| {
        s.push_str(l);
        s.push('\n');
    };
    line(
        s,
        "if [ \"$_slipway_path_set\" = set ]; then PATH=$_slipway_path; else unset PATH; fi",
    );
    let wd = q(&inp.working_dir.to_string_lossy());
    let script_path = q(&inp.script.to_string_lossy());
    if new_root {
        // chroot(1) starts in the new root's /; the inner shell moves to the
        // working directory. The script path stays in its arguments so the
        // agent can tell when the program itself runs.
        line(
            s,
            &format!(
                "exec {} \"$_slipway_r\" /bin/sh -c 'cd -- \"$1\" || exit 127; shift 2; exec \"$@\"' slipway-mounts {wd} {script_path} \"$@\"",
                q(&inp.tools.chroot.to_string_lossy())
            ),
        );
    } else {
        line(
            s,
            &format!("cd -- {wd} || {{ echo \"slipway: workingDir {wd}: no such directory\" >&2; exit 127; }}"),
        );
        line(s, "exec \"$@\"");
    }
}

/// Split `t` into its longest prefix that exists on the host (following
/// symlinks) and the rest.
fn split_existing(t: &Path) -> Result<(PathBuf, PathBuf), String> {
    let mut existing = PathBuf::from("/");
    let mut comps = t.components().skip(1).peekable();
    while let Some(c) = comps.peek() {
        let next = existing.join(c);
        if std::fs::metadata(&next).is_ok() {
            existing = next;
            comps.next();
        } else {
            if std::fs::symlink_metadata(&next).is_ok() {
                return Err(format!(
                    "mountPath {}: {} is a dangling symlink",
                    t.display(),
                    next.display()
                ));
            }
            break;
        }
    }
    let rest: PathBuf = comps.collect();
    Ok((existing, rest))
}

/// The command that starts a container: `prefix` (the network's), then
/// `unshare … sh script`, then the program's argv.
pub fn wrap(tools: &Tools, prefix: &[String], script: &Path, argv: &[String]) -> Vec<String> {
    let mut out: Vec<String> = prefix.to_vec();
    out.push(tools.unshare.to_string_lossy().into_owned());
    out.extend(["--mount", "--propagation", "private"].map(String::from));
    out.push(tools.sh.to_string_lossy().into_owned());
    out.push(script.to_string_lossy().into_owned());
    out.extend(argv.iter().cloned());
    out
}

/// How exec probes and hooks enter a running container.
pub fn enter_prefix(tools: &Tools, pid: u32) -> Vec<String> {
    vec![
        tools.nsenter.to_string_lossy().into_owned(),
        "--target".into(),
        pid.to_string(),
        "--mount".into(),
        "--net".into(),
        "--root".into(),
        "--wd".into(),
        "--".into(),
    ]
}

/// Whether process `pid` still runs the mount script (or a step before it).
pub fn still_mounting(pid: u32, script: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let needle = script.as_os_str().as_encoded_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == needle)
}

// === the fallback ===

/// The fallback's variables (see the module docs) for links under `dir`.
pub fn fallback_vars(mounts: &[Mount], vols: &PodVolumes, dir: &Path) -> Vec<(String, String)> {
    let mut env = vec![(
        "SLIPWAY_MOUNTS".to_string(),
        dir.to_string_lossy().into_owned(),
    )];
    let mut seen = std::collections::BTreeSet::new();
    for m in mounts {
        if seen.insert(m.volume.clone()) {
            if let Some(v) = vols.volumes.get(&m.volume) {
                env.push((volume_var(&m.volume), v.path.to_string_lossy().into_owned()));
            }
        }
    }
    env
}

/// Rebuild the fallback's symlink tree in `dir`: `dir/<mountPath>` links
/// to each mount's source.
pub fn fallback_links(mounts: &[Mount], dir: &Path) {
    // remove_dir_all does not follow symlinks: volume contents are safe.
    let _ = std::fs::remove_dir_all(dir);
    let _ = std::fs::create_dir_all(dir);
    for (i, m) in mounts.iter().enumerate() {
        // A mount inside another one shows through the outer link already;
        // creating its link would write into the outer volume.
        if mounts[..i].iter().any(|o| m.target.starts_with(&o.target)) {
            continue;
        }
        let rel = m.target.strip_prefix("/").unwrap_or(&m.target);
        let link = dir.join(rel);
        if let Some(parent) = link.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::os::unix::fs::symlink(&m.source, &link) {
            tracing::debug!(link = %link.display(), error = %e, "fallback mount link");
        }
    }
}

/// `SLIPWAY_VOLUME_<NAME>`.
pub fn volume_var(name: &str) -> String {
    format!(
        "SLIPWAY_VOLUME_{}",
        name.to_uppercase().replace(['-', '.'], "_")
    )
}

/// A working directory inside a mountPath, as the host path behind it.
pub fn fallback_working_dir(mounts: &[Mount], wd: &Path) -> PathBuf {
    mounts
        .iter()
        .filter(|m| wd.starts_with(&m.target))
        .max_by_key(|m| m.target.components().count())
        .map(|m| {
            m.source
                .join(wd.strip_prefix(&m.target).unwrap_or(Path::new("")))
        })
        .unwrap_or_else(|| wd.to_path_buf())
}

#[cfg(test)]
mod tests;
