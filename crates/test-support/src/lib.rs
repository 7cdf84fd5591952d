//! Test helpers: start a real `slipway up` in a temp dir on an ephemeral
//! port, run the real `kubectl` against it, wait for conditions with
//! timeouts. Every process started here is killed when its owner drops.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

pub mod load;

/// Default bound for one kubectl invocation.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// A running slipway server owned by a test.
pub struct Slipway {
    pub dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    pub kubeconfig: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
    /// Extra arguments for `slipway up` (applied at the next spawn).
    pub extra_args: Vec<String>,
}

impl Slipway {
    /// Start `bin up` in a new temp dir and wait for its kubeconfig.
    pub fn start(bin: &Path) -> Result<Slipway> {
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().join("data");
        let mut s = Slipway {
            kubeconfig: data_dir.join("kubeconfig"),
            data_dir,
            bin: bin.to_path_buf(),
            dir,
            child: None,
            extra_args: Vec::new(),
        };
        s.spawn()?;
        Ok(s)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slipway.log")
    }

    /// (Re)start the server process on the same data dir.
    pub fn spawn(&mut self) -> Result<()> {
        let _ = std::fs::remove_file(&self.kubeconfig);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let child = Command::new(&self.bin)
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env("SLIPWAY_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.kubeconfig.exists() {
            if let Some(c) = self.child.as_mut() {
                if let Some(status) = c.try_wait()? {
                    bail!("slipway exited early ({status}):\n{}", self.log());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "slipway did not write its kubeconfig within 30s:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGKILL the server (no clean shutdown) and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL if it does not stop within 30 s (a clean stop
    /// first stops every pod, each with its grace period).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => return,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = c.kill();
                        let _ = c.wait();
                        return;
                    }
                }
            }
        }
    }

    /// The server URL, token and CA from the kubeconfig.
    pub fn endpoint(&self) -> Result<Endpoint> {
        let kc = std::fs::read_to_string(&self.kubeconfig)?;
        let field = |name: &str| -> Result<String> {
            kc.lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix(&format!("{name}: "))
                        .map(|s| s.trim().to_string())
                })
                .with_context(|| format!("{name} missing in kubeconfig"))
        };
        let ca_b64 = field("certificate-authority-data")?;
        let ca_path = self.dir.path().join("ca.crt");
        let ca = std::fs::read(self.data_dir.join("ca.crt"))?;
        std::fs::write(&ca_path, ca)?;
        let _ = ca_b64;
        Ok(Endpoint {
            server: field("server")?,
            token: field("token")?,
            ca_file: ca_path,
        })
    }

    /// A kubectl command with this server's kubeconfig and a private cache/home.
    pub fn kubectl_cmd(&self) -> Command {
        let mut c = Command::new("kubectl");
        let home = self.dir.path().join("home");
        let _ = std::fs::create_dir_all(&home);
        c.env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &home)
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        c
    }

    /// Run kubectl with `args` (bounded by [`KUBECTL_TIMEOUT`]).
    pub fn kubectl(&self, args: &[&str]) -> Result<Output> {
        let mut c = self.kubectl_cmd();
        c.args(args);
        run(c, None, KUBECTL_TIMEOUT)
    }

    /// Run kubectl with `input` on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Result<Output> {
        let mut c = self.kubectl_cmd();
        c.args(args);
        run(c, Some(input), KUBECTL_TIMEOUT)
    }

    /// Run kubectl and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self
            .kubectl(args)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"));
        check_ok(args, &out)
    }

    /// Like [`Slipway::ok`] with stdin.
    pub fn ok_stdin(&self, args: &[&str], input: &str) -> String {
        let out = self
            .kubectl_stdin(args, input)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"));
        check_ok(args, &out)
    }

    /// Run kubectl and require failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self
            .kubectl(args)
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"));
        assert!(
            !out.status.success(),
            "kubectl {args:?} unexpectedly succeeded:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `kubectl get -o json` parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["get"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["-o", "json"]);
        let s = self.ok(&a);
        serde_json::from_str(&s)
            .unwrap_or_else(|e| panic!("kubectl {a:?} printed invalid JSON ({e}):\n{s}"))
    }
}

fn check_ok(args: &[&str], out: &Output) -> String {
    assert!(
        out.status.success(),
        "kubectl {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Drop for Slipway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How to reach the server without kubectl.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub server: String,
    pub token: String,
    pub ca_file: PathBuf,
}

impl Endpoint {
    /// `curl` with the CA and (optionally) the token.
    pub fn curl(&self, auth: bool, extra: &[&str], path: &str) -> Result<Output> {
        let mut c = Command::new("curl");
        c.args(["-sS", "--max-time", "20", "--cacert"])
            .arg(&self.ca_file);
        if auth {
            c.args(["-H", &format!("Authorization: Bearer {}", self.token)]);
        }
        c.args(extra).arg(format!("{}{}", self.server, path));
        run(c, None, Duration::from_secs(30))
    }
}

/// Run a command with a deadline, killing it when exceeded.
pub fn run(mut c: Command, input: Option<&str>, timeout: Duration) -> Result<Output> {
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().context("spawning command")?;
    if let (Some(i), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(i.as_bytes())?;
    }
    // Read output on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().context("stdout")?;
    let mut se = child.stderr.take().context("stderr")?;
    let t1 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut b);
        b
    });
    let t2 = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("command timed out after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = t1.join().unwrap_or_default();
    let stderr = t2.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Poll `f` until it returns `Some`, or fail after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
