//! Container processes: spawning in their own process group with output to
//! files (so they outlive the agent), signalling the whole group, and
//! recognising a process again after an agent restart.
//!
//! Signals go through the `kill` command rather than `libc::kill`: the
//! workspace forbids `unsafe`, and a fork per signal is cheap next to a
//! container's lifetime.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// How to start one process.
#[derive(Debug, Clone, Default)]
pub struct ProcSpec {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// Identifies a process across agent restarts: pids are reused, start times
/// (in clock ticks since boot) are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcId {
    pub pid: u32,
    pub start_ticks: u64,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// The process was adopted from a previous agent run, so its status is unknown.
    Unknown,
}

impl Exit {
    /// The container exit code Kubernetes reports (128+signal for signals).
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
            Exit::Unknown => 137,
        }
    }
}

/// A running process: our child, or one adopted from a previous run.
pub struct Proc {
    pub id: ProcId,
    child: Option<Child>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("no command to run")]
    Empty,
    #[error("opening {0}: {1}")]
    Output(PathBuf, #[source] std::io::Error),
    #[error("starting {cmd:?}: {source}")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
}

/// Start `spec` in a new process group with stdin closed.
pub fn spawn(spec: &ProcSpec) -> Result<Proc, ProcError> {
    let (prog, args) = spec.argv.split_first().ok_or(ProcError::Empty)?;
    let out = append(&spec.stdout)?;
    let err = append(&spec.stderr)?;
    let mut cmd = command(prog, &spec.env);
    cmd.args(args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        // Its own group: signals reach everything it forks, and a Ctrl-C to
        // the agent's terminal does not reach it.
        .process_group(0)
        .kill_on_drop(false);
    let child = cmd.spawn().map_err(|source| ProcError::Spawn {
        cmd: prog.clone(),
        source,
    })?;
    let pid = child.id().unwrap_or(0);
    let start_ticks = start_ticks(pid).unwrap_or(0);
    Ok(Proc {
        id: ProcId { pid, start_ticks },
        child: Some(child),
    })
}

/// A command for `prog` run with environment `env`. A bare name is looked
/// up in `env`'s PATH here, as execvp(3) would in the child, because
/// std spawns a program that the child's own PATH must find with fork+exec,
/// which copies the agent's whole address space for every start; with a
/// path it uses posix_spawn (vfork). `argv[0]` stays as given.
pub fn command(prog: &str, env: &[(String, String)]) -> Command {
    match resolve_program(prog, env) {
        Some(path) => {
            let mut c = Command::new(path);
            c.arg0(prog);
            c
        }
        None => Command::new(prog),
    }
}

/// Where execvp(3) would find `prog` with `env`'s PATH; `None` when `prog`
/// is a path already, `env` sets no PATH, or the search would depend on the
/// working directory (an empty PATH entry) or find nothing (then the child's
/// own search reports the error as before).
fn resolve_program(prog: &str, env: &[(String, String)]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    if prog.is_empty() || prog.contains('/') {
        return None;
    }
    let path = env.iter().rev().find(|(k, _)| k == "PATH")?.1.as_str();
    for dir in path.split(':') {
        if dir.is_empty() || !dir.starts_with('/') {
            return None;
        }
        let candidate = Path::new(dir).join(prog);
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Some(candidate);
            }
        }
    }
    None
}

fn append(p: &Path) -> Result<std::fs::File, ProcError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
        .map_err(|e| ProcError::Output(p.to_path_buf(), e))
}

impl Proc {
    /// Take over a process left by a previous agent run, if it still runs.
    pub fn adopt(id: ProcId) -> Option<Proc> {
        alive(id).then_some(Proc { id, child: None })
    }

    /// Wait until the process ends.
    pub async fn wait(&mut self) -> Exit {
        if let Some(child) = self.child.as_mut() {
            return match child.wait().await {
                Ok(st) => {
                    use std::os::unix::process::ExitStatusExt;
                    match (st.code(), st.signal()) {
                        (Some(c), _) => Exit::Code(c),
                        (None, Some(s)) => Exit::Signal(s),
                        _ => Exit::Unknown,
                    }
                }
                Err(_) => Exit::Unknown,
            };
        }
        // Not our child: poll.
        while alive(self.id) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Exit::Unknown
    }

    /// Whether the process has ended (non-blocking).
    pub fn try_exited(&mut self) -> Option<Exit> {
        if let Some(child) = self.child.as_mut() {
            return match child.try_wait() {
                Ok(Some(st)) => {
                    use std::os::unix::process::ExitStatusExt;
                    Some(match (st.code(), st.signal()) {
                        (Some(c), _) => Exit::Code(c),
                        (None, Some(s)) => Exit::Signal(s),
                        _ => Exit::Unknown,
                    })
                }
                Ok(None) => None,
                Err(_) => Some(Exit::Unknown),
            };
        }
        (!alive(self.id)).then_some(Exit::Unknown)
    }

    /// SIGTERM to the group, up to `grace` for it to end, then SIGKILL.
    /// Whatever the group still holds after the leader exits is killed too,
    /// as a container's processes die with its first process.
    pub async fn terminate(&mut self, grace: Duration) -> Exit {
        signal_group(self.id.pid, "TERM").await;
        let exit = match tokio::time::timeout(grace, self.wait()).await {
            Ok(e) => e,
            Err(_) => {
                signal_group(self.id.pid, "KILL").await;
                self.wait().await
            }
        };
        signal_group(self.id.pid, "KILL").await;
        exit
    }

    /// SIGKILL the group and wait.
    pub async fn kill(&mut self) -> Exit {
        signal_group(self.id.pid, "KILL").await;
        let e = self.wait().await;
        signal_group(self.id.pid, "KILL").await;
        e
    }
}

/// Send `sig` to process group `pgid`; a group that no longer exists is fine.
pub async fn signal_group(pgid: u32, sig: &str) {
    if pgid <= 1 {
        return;
    }
    let _ = Command::new("kill")
        .arg("-s")
        .arg(sig)
        .arg("--")
        .arg(format!("-{pgid}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Whether the process with this identity still runs (a zombie does not).
pub fn alive(id: ProcId) -> bool {
    match stat(id.pid) {
        Some((state, ticks)) => state != 'Z' && state != 'X' && ticks == id.start_ticks,
        None => false,
    }
}

/// The start time of `pid` in clock ticks since boot.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat(pid).map(|(_, t)| t)
}

/// Field 3 (state) and field 22 (starttime) of /proc/<pid>/stat. The command
/// name (field 2) may hold spaces and parentheses, so parse after the last ')'.
fn stat(pid: u32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // rest starts at field 3, so field 22 is index 19.
    let ticks = fields.get(19)?.parse().ok()?;
    Some((state, ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_names_resolve_in_the_child_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("tool");
        let plain = bin.join("plain");
        std::fs::write(&plain, "not executable").expect("plain");
        {
            use std::os::unix::fs::PermissionsExt;
            let exec = std::fs::Permissions::from_mode(0o755);
            std::fs::set_permissions(&tool, exec).expect("chmod");
        }
        let env = |p: &str| vec![("PATH".to_string(), p.to_string())];
        let path = format!("/nonexistent:{}", bin.display());
        assert_eq!(resolve_program("tool", &env(&path)), Some(tool.clone()));
        // Not executable, a path, no PATH, or a relative entry: the child decides.
        assert_eq!(resolve_program("plain", &env(&path)), None);
        assert_eq!(resolve_program("./tool", &env(&path)), None);
        assert_eq!(resolve_program("tool", &[]), None);
        assert_eq!(resolve_program("tool", &env(&format!(":{path}"))), None);
    }

    #[tokio::test]
    async fn spawn_wait_terminate() {
        let dir = tempfile::tempdir().expect("tmp");
        let spec = ProcSpec {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            cwd: dir.path().to_path_buf(),
            stdout: dir.path().join("o"),
            stderr: dir.path().join("e"),
        };
        let mut p = spawn(&spec).expect("spawn");
        assert_eq!(p.wait().await, Exit::Code(3));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("o")).expect("o"),
            "out\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("e")).expect("e"),
            "err\n"
        );

        let spec = ProcSpec {
            argv: vec![
                "sh".into(),
                "-c".into(),
                "trap 'exit 7' TERM; sleep 30 & wait".into(),
            ],
            ..spec
        };
        let mut p = spawn(&spec).expect("spawn");
        assert!(alive(p.id));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let e = tokio::time::timeout(Duration::from_secs(10), p.terminate(Duration::from_secs(5)))
            .await
            .expect("terminated in time");
        assert_eq!(e, Exit::Code(7));
        assert!(!alive(p.id));
    }
}
