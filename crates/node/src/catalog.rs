//! The image catalog: how an image reference becomes an executable.
//!
//! There is no container runtime, so an "image" is a name for a program on
//! this machine. The catalog file (`images.yaml`, format documented in the
//! crate docs) maps image patterns to a command, default args, env and an
//! optional working directory; `slipway/demo:<tag>` is built in. The file is
//! read again on every pull so edits apply without a restart.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The built-in demo image repository.
pub const DEMO_REPO: &str = "slipway/demo";

/// One `images.yaml` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogFile {
    #[serde(default)]
    pub images: Vec<CatalogEntry>,
}

/// One pattern → program mapping.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CatalogEntry {
    /// Image pattern: `*` matches any run of characters. A pattern without a
    /// tag or digest matches every tag of that repository.
    pub image: String,
    /// The image's ENTRYPOINT.
    #[serde(default)]
    pub command: Vec<String>,
    /// The image's CMD.
    #[serde(default)]
    pub args: Vec<String>,
    /// The image's ENV; the container's own env wins.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The image's WORKDIR.
    #[serde(default)]
    pub working_dir: Option<String>,
}

/// What an image resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedImage {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<(String, String)>,
    pub working_dir: Option<String>,
    /// Stands in for the image digest: stable for the same program.
    pub image_id: String,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CatalogError {
    #[error("reading image catalog {path}: {msg}")]
    Read { path: PathBuf, msg: String },
    #[error("image {image:?} is not in the image catalog {path} (slipway runs images as local programs: add an entry mapping {image:?} to a command, or use slipway/demo:<tag>)")]
    NotFound { image: String, path: PathBuf },
}

/// Resolve `image` using the catalog file at `path` (a missing file is an
/// empty catalog) and the built-in demo image.
pub fn resolve(
    path: &Path,
    demo_command: &[String],
    image: &str,
) -> Result<ResolvedImage, CatalogError> {
    let file = load(path)?;
    resolve_in(&file, path, demo_command, image)
}

/// Read and parse the catalog file.
pub fn load(path: &Path) -> Result<CatalogFile, CatalogError> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(CatalogFile::default()),
        Ok(text) => serde_yaml::from_str(&text).map_err(|e| CatalogError::Read {
            path: path.to_path_buf(),
            msg: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CatalogFile::default()),
        Err(e) => Err(CatalogError::Read {
            path: path.to_path_buf(),
            msg: e.to_string(),
        }),
    }
}

/// Catalog entries win over the built-in image, so a test or a user can
/// replace the demo server.
pub fn resolve_in(
    file: &CatalogFile,
    path: &Path,
    demo_command: &[String],
    image: &str,
) -> Result<ResolvedImage, CatalogError> {
    if let Some(e) = file.images.iter().find(|e| matches(&e.image, image)) {
        let id_src = format!("{:?}{:?}{:?}", e.command, e.args, e.env);
        return Ok(ResolvedImage {
            entrypoint: e.command.clone(),
            cmd: e.args.clone(),
            env: e.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            working_dir: e.working_dir.clone(),
            image_id: image_id(image, &id_src),
        });
    }
    let (repo, tag) = split_reference(image);
    if (repo == DEMO_REPO || repo == format!("docker.io/{DEMO_REPO}")) && !demo_command.is_empty() {
        let tag = tag.unwrap_or("latest").to_string();
        return Ok(ResolvedImage {
            entrypoint: demo_command.to_vec(),
            cmd: Vec::new(),
            env: vec![("DEMO_TAG".to_string(), tag)],
            working_dir: None,
            image_id: image_id(image, &format!("{demo_command:?}")),
        });
    }
    Err(CatalogError::NotFound {
        image: image.to_string(),
        path: path.to_path_buf(),
    })
}

/// An image that only accompanies an explicit `command`: it contributes
/// nothing, as a pulled image whose ENTRYPOINT is overridden.
pub fn command_only(image: &str) -> ResolvedImage {
    ResolvedImage {
        entrypoint: Vec::new(),
        cmd: Vec::new(),
        env: Vec::new(),
        working_dir: None,
        image_id: image_id(image, ""),
    }
}

/// Splits `repo[:tag][@digest]` into the repository and the tag (or digest).
pub fn split_reference(image: &str) -> (&str, Option<&str>) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, Some(digest));
    }
    // A ':' after the last '/' is a tag; before it, a registry port.
    let slash = image.rfind('/').map(|i| i + 1).unwrap_or(0);
    match image[slash..].rfind(':') {
        Some(i) => (&image[..slash + i], Some(&image[slash + i + 1..])),
        None => (image, None),
    }
}

fn matches(pattern: &str, image: &str) -> bool {
    let (prepo, ptag) = split_reference(pattern);
    if ptag.is_some() {
        return glob(pattern, image);
    }
    let (repo, _) = split_reference(image);
    glob(prepo, repo)
}

/// `*` matches any run of characters (including none); everything else is literal.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == last {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

fn image_id(image: &str, program: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    program.hash(&mut h);
    let (repo, _) = split_reference(image);
    format!("{repo}@slipway:{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(yaml: &str) -> CatalogFile {
        serde_yaml::from_str(yaml).expect("yaml")
    }

    #[test]
    fn split() {
        assert_eq!(split_reference("nginx"), ("nginx", None));
        assert_eq!(split_reference("nginx:1.25"), ("nginx", Some("1.25")));
        assert_eq!(split_reference("reg:5000/a/b"), ("reg:5000/a/b", None));
        assert_eq!(
            split_reference("reg:5000/a/b:v1"),
            ("reg:5000/a/b", Some("v1"))
        );
        assert_eq!(split_reference("a@sha256:00"), ("a", Some("sha256:00")));
    }

    #[test]
    fn patterns() {
        assert!(matches("nginx", "nginx:1.25"));
        assert!(matches("nginx", "nginx"));
        assert!(!matches("nginx", "nginx2"));
        assert!(matches("nginx:1.*", "nginx:1.25"));
        assert!(!matches("nginx:1.*", "nginx:2.0"));
        assert!(matches("*/python", "docker.io/library/python:3"));
        assert!(matches("py*", "python:3"));
    }

    #[test]
    fn resolves_catalog_then_builtin() {
        let f = file(
            "images:\n- image: web\n  command: [python3, -m, http.server]\n  args: [\"8000\"]\n  env: {A: b}\n  workingDir: /tmp\n",
        );
        let p = Path::new("/x/images.yaml");
        let demo = vec!["slipway".to_string(), "demo-app".to_string()];
        let r = resolve_in(&f, p, &demo, "web:v2").expect("web");
        assert_eq!(r.entrypoint, ["python3", "-m", "http.server"]);
        assert_eq!(r.cmd, ["8000"]);
        assert_eq!(r.env, [("A".to_string(), "b".to_string())]);
        assert_eq!(r.working_dir.as_deref(), Some("/tmp"));
        let d = resolve_in(&f, p, &demo, "slipway/demo:v3").expect("demo");
        assert_eq!(d.entrypoint, demo);
        assert_eq!(d.env, [("DEMO_TAG".to_string(), "v3".to_string())]);
        let e = resolve_in(&f, p, &demo, "nope:1").expect_err("missing");
        assert!(e
            .to_string()
            .contains("not in the image catalog /x/images.yaml"));
    }

    #[test]
    fn rejects_unknown_fields() {
        assert!(serde_yaml::from_str::<CatalogFile>("images:\n- image: a\n  cmd: [x]\n").is_err());
    }
}
