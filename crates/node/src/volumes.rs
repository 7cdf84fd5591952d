//! Pod volumes, materialised under the pod's directory
//! (`data_dir/pods/<uid>/volumes/<name>`) before any container starts, as
//! the kubelet's volume manager does.
//!
//! - `emptyDir`: a directory (mode 0777) that lives as long as the pod
//!   (kept across agent restarts). `medium: Memory` is disk-backed too and
//!   `sizeLimit` is not enforced.
//! - `hostPath`: the host path itself, after the `type` check
//!   (`DirectoryOrCreate` and `FileOrCreate` create it).
//! - `configMap`, `secret`, `downwardAPI`, `projected`: files written by the
//!   agent with the kubelet's atomic-writer layout: the payload lives in a
//!   timestamped `..<time>` directory, `..data` links to it, and every
//!   top-level entry is a link through `..data`. An update writes a new
//!   directory and swaps `..data` with one `rename`, so a reader sees the old
//!   or the new payload, never a mix. `items` (`key`/`path`/`mode`),
//!   `defaultMode` (0644 when unset) and `optional` mean what they mean
//!   upstream. These volumes are always mounted read-only.
//! - `projected` `serviceAccountToken`: slipway has no TokenRequest API, so
//!   the file holds a stub (see [`STUB_TOKEN`]) that the API server rejects;
//!   `clusterTrustBundle` sources are skipped.
//!
//! [`sync`] rewrites the agent-written volumes when their sources change
//! (a ConfigMap or Secret, or the pod's labels and annotations).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use k8s_openapi::api::core::v1::{
    ConfigMap, DownwardAPIVolumeFile, KeyToPath, Pod, Secret, Volume as VolumeSpec,
};

use crate::env::{self, EnvInputs, NodeResources};

/// What a projected `serviceAccountToken` file holds.
pub const STUB_TOKEN: &str = "slipway-stub-token-no-token-request-api";

/// The kubelet's default file mode for projected files (0644, 420 decimal).
const DEFAULT_MODE: i32 = 0o644;

/// One volume of a pod, ready to be mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    /// The directory (or, for a `hostPath` file, the file) to mount.
    pub path: PathBuf,
    pub kind: VolumeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeKind {
    EmptyDir,
    HostPath,
    /// configMap, secret, downwardAPI and projected: written by the agent.
    Written,
}

impl VolumeKind {
    /// Upstream mounts agent-written volumes read-only whatever the mount says.
    pub fn always_read_only(self) -> bool {
        self == VolumeKind::Written
    }
}

/// A pod's volumes by name.
#[derive(Debug, Clone, Default)]
pub struct PodVolumes {
    pub volumes: BTreeMap<String, Volume>,
}

/// What volume contents may come from.
pub struct Sources<'a> {
    pub pod: &'a Pod,
    pub node: &'a NodeResources,
    /// The ConfigMaps and Secrets that exist, by name, in the pod's namespace.
    pub config_maps: &'a BTreeMap<String, ConfigMap>,
    pub secrets: &'a BTreeMap<String, Secret>,
}

/// Why a volume cannot be set up (a `FailedMount`), in the kubelet's words.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VolumeError {
    #[error("configmap {0:?} not found")]
    ConfigMapMissing(String),
    #[error("configmap references non-existent config key: {0}")]
    ConfigMapKey(String),
    #[error("secret {0:?} not found")]
    SecretMissing(String),
    #[error("references non-existent secret key: {0}")]
    SecretKey(String),
    #[error("hostPath type check failed: {0}")]
    HostPathType(String),
    #[error("invalid path {0:?}: must be relative, without '..'")]
    BadPath(String),
    #[error("downward API: {0}")]
    Downward(String),
    #[error("{0} volumes are not supported by slipway's node agent")]
    Unsupported(&'static str),
    #[error("{0}: {1}")]
    Io(PathBuf, String),
}

/// A failure of one named volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError {
    pub volume: String,
    pub error: VolumeError,
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "MountVolume.SetUp failed for volume {:?} : {}",
            self.volume, self.error
        )
    }
}

/// Files of an agent-written volume: relative path → (contents, mode).
pub type Payload = BTreeMap<String, (Vec<u8>, u32)>;

/// The ConfigMap and Secret names the pod's volumes refer to.
pub fn referenced(pod: &Pod) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut cms = BTreeSet::new();
    let mut secrets = BTreeSet::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        if let Some(c) = &v.config_map {
            cms.insert(c.name.clone());
        }
        if let Some(s) = v.secret.as_ref().and_then(|s| s.secret_name.clone()) {
            secrets.insert(s);
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(c) = &src.config_map {
                cms.insert(c.name.clone());
            }
            if let Some(s) = &src.secret {
                secrets.insert(s.name.clone());
            }
        }
    }
    (cms, secrets)
}

/// Whether any volume is written from sources that may change.
pub fn has_written(pod: &Pod) -> bool {
    pod.spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .any(|v| {
            v.config_map.is_some()
                || v.secret.is_some()
                || v.downward_api.is_some()
                || v.projected.is_some()
        })
}

/// Where a pod's volumes live.
pub fn volumes_dir(pod_dir: &Path) -> PathBuf {
    pod_dir.join("volumes")
}

/// Set up every volume of the pod; idempotent (emptyDir contents survive,
/// written volumes are rewritten only when their payload changed).
pub fn setup(pod_dir: &Path, src: &Sources<'_>) -> Result<PodVolumes, SetupError> {
    let dir = volumes_dir(pod_dir);
    let mut out = PodVolumes::default();
    for v in src.pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let fail = |error| SetupError {
            volume: v.name.clone(),
            error,
        };
        let vol = setup_one(&dir, v, src).map_err(fail)?;
        out.volumes.insert(v.name.clone(), vol);
    }
    Ok(out)
}

fn setup_one(dir: &Path, v: &VolumeSpec, src: &Sources<'_>) -> Result<Volume, VolumeError> {
    let path = dir.join(&v.name);
    let io = |p: &Path, e: std::io::Error| VolumeError::Io(p.to_path_buf(), e.to_string());
    if let Some(hp) = &v.host_path {
        let p = PathBuf::from(&hp.path);
        host_path_check(&p, hp.type_.as_deref().unwrap_or(""))?;
        return Ok(Volume {
            name: v.name.clone(),
            path: p,
            kind: VolumeKind::HostPath,
        });
    }
    if let Some(payload) = payload(v, src)? {
        write_payload(&path, &payload).map_err(|e| io(&path, e))?;
        return Ok(Volume {
            name: v.name.clone(),
            path,
            kind: VolumeKind::Written,
        });
    }
    if v.empty_dir.is_some() {
        if !path.is_dir() {
            std::fs::create_dir_all(&path).map_err(|e| io(&path, e))?;
            // Any user of any container may write an emptyDir.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                .map_err(|e| io(&path, e))?;
        }
        return Ok(Volume {
            name: v.name.clone(),
            path,
            kind: VolumeKind::EmptyDir,
        });
    }
    Err(VolumeError::Unsupported(unsupported_kind(v)))
}

fn unsupported_kind(v: &VolumeSpec) -> &'static str {
    let j = serde_json::to_value(v).unwrap_or_default();
    let known = [
        "persistentVolumeClaim",
        "nfs",
        "csi",
        "ephemeral",
        "image",
        "iscsi",
        "gitRepo",
        "awsElasticBlockStore",
        "gcePersistentDisk",
        "azureDisk",
        "azureFile",
        "cephfs",
        "rbd",
        "fc",
        "flexVolume",
        "glusterfs",
    ];
    known
        .into_iter()
        .find(|k| j.get(*k).is_some())
        .unwrap_or("such")
}

/// The upstream `hostPath.type` check.
fn host_path_check(p: &Path, ty: &str) -> Result<(), VolumeError> {
    use std::os::unix::fs::FileTypeExt;
    let shown = p.display();
    let meta = std::fs::metadata(p).ok();
    let fail = |what: &str| {
        Err(VolumeError::HostPathType(format!(
            "{shown} is not a {what}"
        )))
    };
    match ty {
        "" => Ok(()),
        "DirectoryOrCreate" => {
            if meta.is_none() {
                std::fs::create_dir_all(p)
                    .map_err(|e| VolumeError::Io(p.to_path_buf(), e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                return Ok(());
            }
            if meta.is_some_and(|m| m.is_dir()) {
                Ok(())
            } else {
                fail("directory")
            }
        }
        "Directory" => match meta {
            Some(m) if m.is_dir() => Ok(()),
            Some(_) => fail("directory"),
            None => Err(VolumeError::HostPathType(format!("{shown} does not exist"))),
        },
        "FileOrCreate" => {
            if meta.is_none() {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| VolumeError::Io(p.to_path_buf(), e.to_string()))?;
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
                return Ok(());
            }
            if meta.is_some_and(|m| m.is_file()) {
                Ok(())
            } else {
                fail("file")
            }
        }
        "File" => match meta {
            Some(m) if m.is_file() => Ok(()),
            Some(_) => fail("file"),
            None => Err(VolumeError::HostPathType(format!("{shown} does not exist"))),
        },
        "Socket" => match meta {
            Some(m) if m.file_type().is_socket() => Ok(()),
            _ => fail("socket file"),
        },
        "CharDevice" => match meta {
            Some(m) if m.file_type().is_char_device() => Ok(()),
            _ => fail("character device"),
        },
        "BlockDevice" => match meta {
            Some(m) if m.file_type().is_block_device() => Ok(()),
            _ => fail("block device"),
        },
        other => Err(VolumeError::HostPathType(format!(
            "unknown hostPath type {other:?}"
        ))),
    }
}

/// Rewrite the agent-written volumes from their current sources. A volume
/// whose sources fail keeps its last contents (as the kubelet does); the
/// failures are returned for logging.
pub fn sync(pod_dir: &Path, src: &Sources<'_>) -> Vec<SetupError> {
    let dir = volumes_dir(pod_dir);
    let mut errs = Vec::new();
    for v in src.pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let res = payload(v, src).and_then(|p| match p {
            Some(p) => {
                let path = dir.join(&v.name);
                write_payload(&path, &p)
                    .map(|_| ())
                    .map_err(|e| VolumeError::Io(path, e.to_string()))
            }
            None => Ok(()),
        });
        if let Err(error) = res {
            errs.push(SetupError {
                volume: v.name.clone(),
                error,
            });
        }
    }
    errs
}

/// The files of an agent-written volume; `None` for other kinds.
pub fn payload(v: &VolumeSpec, src: &Sources<'_>) -> Result<Option<Payload>, VolumeError> {
    let mut out = Payload::new();
    if let Some(c) = &v.config_map {
        let mode = c.default_mode.unwrap_or(DEFAULT_MODE);
        config_map_files(&mut out, src, &c.name, c.items.as_deref(), c.optional, mode)?;
        return Ok(Some(out));
    }
    if let Some(s) = &v.secret {
        let mode = s.default_mode.unwrap_or(DEFAULT_MODE);
        let name = s.secret_name.clone().unwrap_or_default();
        secret_files(&mut out, src, &name, s.items.as_deref(), s.optional, mode)?;
        return Ok(Some(out));
    }
    if let Some(d) = &v.downward_api {
        let mode = d.default_mode.unwrap_or(DEFAULT_MODE);
        downward_files(&mut out, src, d.items.as_deref().unwrap_or(&[]), mode)?;
        return Ok(Some(out));
    }
    if let Some(p) = &v.projected {
        let mode = p.default_mode.unwrap_or(DEFAULT_MODE);
        for s in p.sources.iter().flatten() {
            if let Some(c) = &s.config_map {
                config_map_files(&mut out, src, &c.name, c.items.as_deref(), c.optional, mode)?;
            }
            if let Some(c) = &s.secret {
                secret_files(&mut out, src, &c.name, c.items.as_deref(), c.optional, mode)?;
            }
            if let Some(d) = &s.downward_api {
                downward_files(&mut out, src, d.items.as_deref().unwrap_or(&[]), mode)?;
            }
            if let Some(t) = &s.service_account_token {
                insert(&mut out, &t.path, STUB_TOKEN.as_bytes().to_vec(), mode)?;
            }
        }
        return Ok(Some(out));
    }
    Ok(None)
}

fn insert(out: &mut Payload, path: &str, bytes: Vec<u8>, mode: i32) -> Result<(), VolumeError> {
    let clean = clean_relative(path).ok_or_else(|| VolumeError::BadPath(path.to_string()))?;
    out.insert(clean, (bytes, (mode as u32) & 0o7777));
    Ok(())
}

/// `path` as a normalised relative path, or `None` when it is absolute,
/// climbs with `..`, or would collide with the writer's `..` entries.
pub fn clean_relative(path: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() || parts[0].starts_with("..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Keys (all, or the listed items) of a key→bytes map into the payload.
fn keyed_files(
    out: &mut Payload,
    data: &BTreeMap<String, Vec<u8>>,
    items: Option<&[KeyToPath]>,
    optional: bool,
    mode: i32,
    missing_key: impl Fn(String) -> VolumeError,
) -> Result<(), VolumeError> {
    match items {
        Some(items) if !items.is_empty() => {
            for it in items {
                match data.get(&it.key) {
                    Some(b) => insert(out, &it.path, b.clone(), it.mode.unwrap_or(mode))?,
                    None if optional => {}
                    None => return Err(missing_key(it.key.clone())),
                }
            }
        }
        _ => {
            for (k, b) in data {
                insert(out, k, b.clone(), mode)?;
            }
        }
    }
    Ok(())
}

fn config_map_files(
    out: &mut Payload,
    src: &Sources<'_>,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: Option<bool>,
    mode: i32,
) -> Result<(), VolumeError> {
    let optional = optional == Some(true);
    let Some(cm) = src.config_maps.get(name) else {
        return if optional {
            Ok(())
        } else {
            Err(VolumeError::ConfigMapMissing(name.to_string()))
        };
    };
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in cm.data.iter().flatten() {
        data.insert(k.clone(), v.clone().into_bytes());
    }
    for (k, v) in cm.binary_data.iter().flatten() {
        data.insert(k.clone(), v.0.clone());
    }
    keyed_files(out, &data, items, optional, mode, VolumeError::ConfigMapKey)
}

fn secret_files(
    out: &mut Payload,
    src: &Sources<'_>,
    name: &str,
    items: Option<&[KeyToPath]>,
    optional: Option<bool>,
    mode: i32,
) -> Result<(), VolumeError> {
    let optional = optional == Some(true);
    let Some(s) = src.secrets.get(name) else {
        return if optional {
            Ok(())
        } else {
            Err(VolumeError::SecretMissing(name.to_string()))
        };
    };
    let data: BTreeMap<String, Vec<u8>> = s
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    keyed_files(out, &data, items, optional, mode, VolumeError::SecretKey)
}

fn downward_files(
    out: &mut Payload,
    src: &Sources<'_>,
    items: &[DownwardAPIVolumeFile],
    mode: i32,
) -> Result<(), VolumeError> {
    let empty_cm = BTreeMap::new();
    let empty_s = BTreeMap::new();
    let inp = EnvInputs {
        pod: src.pod,
        pod_ip: "",
        host_ip: "",
        node: src.node,
        config_maps: &empty_cm,
        secrets: &empty_s,
        services: &[],
    };
    for it in items {
        let value = if let Some(f) = &it.field_ref {
            env::field_ref(&inp, &f.field_path).map_err(|e| VolumeError::Downward(e.to_string()))?
        } else if let Some(r) = &it.resource_field_ref {
            let spec = src.pod.spec.as_ref();
            let name = r.container_name.as_deref().unwrap_or("");
            let c = spec
                .and_then(|s| {
                    s.containers
                        .iter()
                        .chain(s.init_containers.iter().flatten())
                        .find(|c| c.name == name)
                })
                .ok_or_else(|| {
                    VolumeError::Downward(format!("container {name:?} not found in the pod"))
                })?;
            let divisor = r.divisor.as_ref().map(|d| d.0.as_str()).unwrap_or("1");
            env::resource_value(src.node, c, &r.resource, divisor)
                .map_err(|e| VolumeError::Downward(e.to_string()))?
        } else {
            String::new()
        };
        insert(out, &it.path, value.into_bytes(), it.mode.unwrap_or(mode))?;
    }
    Ok(())
}

// === the atomic writer ===

const DATA_LINK: &str = "..data";
const DATA_TMP_LINK: &str = "..data_tmp";

/// Make `dir` hold exactly `payload`; `Ok(false)` when it already did.
pub fn write_payload(dir: &Path, payload: &Payload) -> std::io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    if current_payload(dir).as_ref() == Some(payload) {
        return Ok(false);
    }
    let stamp = unique_stamp(dir);
    let ts_dir = dir.join(&stamp);
    std::fs::create_dir(&ts_dir)?;
    std::fs::set_permissions(&ts_dir, std::fs::Permissions::from_mode(0o755))?;
    for (rel, (bytes, mode)) in payload {
        let p = ts_dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))?;
    }
    // Swap the payload in with one rename of a link.
    let tmp = dir.join(DATA_TMP_LINK);
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&stamp, &tmp)?;
    std::fs::rename(&tmp, dir.join(DATA_LINK))?;

    let tops: BTreeSet<String> = payload
        .keys()
        .filter_map(|k| k.split('/').next().map(str::to_string))
        .collect();
    for t in &tops {
        let link = dir.join(t);
        let ok =
            std::fs::read_link(&link).is_ok_and(|target| target == Path::new(DATA_LINK).join(t));
        if !ok {
            remove_any(&link);
            std::os::unix::fs::symlink(Path::new(DATA_LINK).join(t), &link)?;
        }
    }
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let stale_top = !name.starts_with("..") && !tops.contains(&name);
        let stale_payload = name.starts_with("..")
            && name != stamp
            && name != DATA_LINK
            && e.path().is_dir()
            && !e.file_type().is_ok_and(|t| t.is_symlink());
        if stale_top || stale_payload {
            remove_any(&e.path());
        }
    }
    Ok(true)
}

fn remove_any(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// `..2025_01_02_03_04_05.123456789`, unique within `dir`.
fn unique_stamp(dir: &Path) -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    let base = now.strftime("..%Y_%m_%d_%H_%M_%S").to_string();
    let mut n = now.subsec_nanosecond();
    loop {
        let s = format!("{base}.{n:09}");
        if !dir.join(&s).exists() {
            return s;
        }
        n = n.wrapping_add(1);
    }
}

/// What `dir/..data` holds now.
pub fn current_payload(dir: &Path) -> Option<Payload> {
    let root = dir.join(DATA_LINK);
    std::fs::read_link(&root).ok()?;
    let mut out = Payload::new();
    let mut stack = vec![(root, String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = std::fs::symlink_metadata(e.path()).ok()?;
            if meta.is_dir() {
                stack.push((e.path(), rel));
            } else {
                let bytes = std::fs::read(e.path()).ok()?;
                out.insert(rel, (bytes, meta.permissions().mode() & 0o7777));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests;
