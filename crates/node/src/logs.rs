//! Container logs.
//!
//! A container writes stdout and stderr straight into raw files (so it
//! outlives the agent and never blocks on it). The agent's pump turns new
//! raw bytes into a log in the CRI format the kubelet uses
//! (`<RFC3339Nano> <stream> <F|P> <content>`), one file per container run:
//! `<dir>/<restartCount>.log`, rotated once into `.log.1` when it grows past
//! [`MAX_LOG_BYTES`]. Only the current and the previous run are kept. The
//! pump records how far it read in `<n>.offsets`, so a restarted agent goes
//! on where the previous one stopped.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use k8s_openapi::jiff::Timestamp;

/// One log file's size limit before it rotates.
pub const MAX_LOG_BYTES: u64 = 10 * 1024 * 1024;
/// Raw files are truncated once read past this size.
const MAX_RAW_BYTES: u64 = 1024 * 1024;
/// A line longer than this is written as partial entries.
const MAX_LINE: usize = 16 * 1024;

/// Paths of one container run's files.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub n: u32,
}

impl RunFiles {
    pub fn new(dir: &Path, n: u32) -> RunFiles {
        RunFiles {
            dir: dir.to_path_buf(),
            n,
        }
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join(format!("{}.log", self.n))
    }
    pub fn rotated(&self) -> PathBuf {
        self.dir.join(format!("{}.log.1", self.n))
    }
    pub fn stdout(&self) -> PathBuf {
        self.dir.join(format!("{}.out", self.n))
    }
    pub fn stderr(&self) -> PathBuf {
        self.dir.join(format!("{}.err", self.n))
    }
    fn offsets(&self) -> PathBuf {
        self.dir.join(format!("{}.offsets", self.n))
    }
    /// The run's log files, oldest first.
    pub fn logs(&self) -> Vec<PathBuf> {
        vec![self.rotated(), self.log()]
    }
    /// Remove every run's files except `keep_from..`.
    pub fn prune_before(dir: &Path, keep_from: u32) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let n = name.split('.').next().and_then(|s| s.parse::<u32>().ok());
            if n.is_some_and(|n| n < keep_from) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

struct Stream {
    name: &'static str,
    raw: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

/// Converts one run's raw output into its CRI log.
pub struct Pump {
    files: RunFiles,
    /// Size at which the log rotates ([`MAX_LOG_BYTES`]; smaller in tests).
    max_log: u64,
    streams: [Stream; 2],
    log: Option<File>,
}

impl Pump {
    /// Open (or continue) run `files`.
    pub fn open(files: RunFiles) -> Pump {
        let (o, e) = std::fs::read_to_string(files.offsets())
            .ok()
            .and_then(|s| {
                let mut it = s.split_whitespace().filter_map(|x| x.parse::<u64>().ok());
                Some((it.next()?, it.next()?))
            })
            .unwrap_or((0, 0));
        Pump {
            streams: [
                Stream {
                    name: "stdout",
                    raw: files.stdout(),
                    offset: o,
                    partial: Vec::new(),
                },
                Stream {
                    name: "stderr",
                    raw: files.stderr(),
                    offset: e,
                    partial: Vec::new(),
                },
            ],
            files,
            log: None,
            max_log: MAX_LOG_BYTES,
        }
    }

    /// Move whatever is new into the log. Returns whether anything was read.
    pub fn pump(&mut self) -> bool {
        let mut any = false;
        for i in 0..2 {
            let data = read_new(&mut self.streams[i]);
            if data.is_empty() {
                continue;
            }
            any = true;
            let now = Timestamp::now();
            let s = &mut self.streams[i];
            s.partial.extend_from_slice(&data);
            let mut out = Vec::new();
            while let Some(nl) = s.partial.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = s.partial.drain(..=nl).collect();
                entry(&mut out, now, s.name, false, &line[..line.len() - 1]);
            }
            while s.partial.len() > MAX_LINE {
                let chunk: Vec<u8> = s.partial.drain(..MAX_LINE).collect();
                entry(&mut out, now, s.name, true, &chunk);
            }
            self.write(&out);
        }
        if any {
            // Held partial lines are not done: a restarted pump reads them again.
            let done = |s: &Stream| s.offset.saturating_sub(s.partial.len() as u64);
            let text = format!("{} {}", done(&self.streams[0]), done(&self.streams[1]));
            let _ = std::fs::write(self.files.offsets(), text);
        }
        any
    }

    /// Final pump when the run ended: flush unterminated lines and drop the raw files.
    pub fn finish(&mut self) {
        self.pump();
        let now = Timestamp::now();
        let mut out = Vec::new();
        for s in &mut self.streams {
            if !s.partial.is_empty() {
                let rest = std::mem::take(&mut s.partial);
                entry(&mut out, now, s.name, false, &rest);
            }
        }
        self.write(&out);
        let _ = std::fs::remove_file(self.files.stdout());
        let _ = std::fs::remove_file(self.files.stderr());
        let _ = std::fs::remove_file(self.files.offsets());
    }

    fn write(&mut self, out: &[u8]) {
        if out.is_empty() {
            return;
        }
        let path = self.files.log();
        if self.log.is_none() {
            self.log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok();
        }
        if let Some(f) = self.log.as_mut() {
            let _ = f.write_all(out);
            let too_big = f
                .metadata()
                .map(|m| m.len() > self.max_log)
                .unwrap_or(false);
            if too_big {
                self.log = None;
                let _ = std::fs::rename(&path, self.files.rotated());
            }
        }
    }
}

fn read_new(s: &mut Stream) -> Vec<u8> {
    let Ok(mut f) = File::open(&s.raw) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if len < s.offset {
        // Truncated underneath us (by us, before a restart): start over.
        s.offset = 0;
    }
    if len == s.offset {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(s.offset)).is_err() || f.read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    s.offset += buf.len() as u64;
    if s.offset > MAX_RAW_BYTES {
        // The process appends (O_APPEND), so after truncation it writes at
        // the new end, 0. Bytes written between our read and this call are
        // lost; bounded disk use is worth that.
        if let Ok(w) = std::fs::OpenOptions::new().write(true).open(&s.raw) {
            if w.set_len(0).is_ok() {
                s.offset = 0;
            }
        }
    }
    buf
}

fn entry(out: &mut Vec<u8>, ts: Timestamp, stream: &str, partial: bool, content: &[u8]) {
    out.extend_from_slice(format!("{ts} {stream} {} ", if partial { "P" } else { "F" }).as_bytes());
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// One parsed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub ts: Timestamp,
    pub ts_text: String,
    pub partial: bool,
    pub content: Vec<u8>,
}

/// Parse CRI log lines; malformed lines are skipped.
pub fn parse(data: &[u8]) -> (Vec<Entry>, usize) {
    let mut out = Vec::new();
    let mut consumed = 0;
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') {
            break;
        }
        consumed += line.len();
        let line = &line[..line.len() - 1];
        let mut parts = line.splitn(4, |b| *b == b' ');
        let (Some(ts), Some(_stream), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let content = parts.next().unwrap_or(&[]);
        let ts_text = String::from_utf8_lossy(ts).to_string();
        let Ok(parsed) = ts_text.parse::<Timestamp>() else {
            continue;
        };
        out.push(Entry {
            ts: parsed,
            ts_text,
            partial: tag == b"P",
            content: content.to_vec(),
        });
    }
    (out, consumed)
}

/// What a `containerLogs` request asks for.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub tail_lines: Option<i64>,
    pub since: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<i64>,
}

/// Render entries as the kubelet does: content with a newline after full
/// entries, optionally prefixed by the timestamp.
pub fn render(entries: &[Entry], opts: &LogOptions, out: &mut Vec<u8>) {
    for e in entries {
        if opts.since.is_some_and(|s| e.ts < s) {
            continue;
        }
        if opts.timestamps {
            out.extend_from_slice(e.ts_text.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(&e.content);
        if !e.partial {
            out.push(b'\n');
        }
    }
}

/// Every complete entry of a run, and how far into the current log file
/// they reach (where a follower continues).
pub fn read_run(files: &RunFiles) -> (Vec<Entry>, u64) {
    let mut all = Vec::new();
    if let Ok(d) = std::fs::read(files.rotated()) {
        all.extend(parse(&d).0);
    }
    let mut offset = 0;
    if let Ok(d) = std::fs::read(files.log()) {
        let (e, used) = parse(&d);
        all.extend(e);
        offset = used as u64;
    }
    (all, offset)
}

/// The entries the options select before following: those newer than
/// `since`, then the last `tailLines` lines.
pub fn select(mut all: Vec<Entry>, opts: &LogOptions) -> Vec<Entry> {
    if let Some(since) = opts.since {
        all.retain(|e| e.ts >= since);
    }
    if let Some(n) = opts.tail_lines {
        let n = n.max(0) as usize;
        // Count lines by full entries, keeping the partial ones before them.
        let mut lines = 0;
        let mut start = all.len();
        for (i, e) in all.iter().enumerate().rev() {
            if !e.partial {
                if lines == n {
                    break;
                }
                lines += 1;
            }
            start = i;
        }
        if n == 0 {
            start = all.len();
        }
        all.drain(..start);
    }
    all
}

/// A follower of a run's current log file that survives rotation.
pub struct Follower {
    path: PathBuf,
    offset: u64,
    pending: VecDeque<u8>,
}

impl Follower {
    /// Start following `path` from byte `offset`.
    pub fn at(path: PathBuf, offset: u64) -> Follower {
        Follower {
            path,
            offset,
            pending: VecDeque::new(),
        }
    }

    /// New complete entries since the last call.
    pub fn poll(&mut self) -> Vec<Entry> {
        let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if len < self.offset {
            // Rotated: the old file moved away and a new one began.
            self.offset = 0;
            self.pending.clear();
        }
        if len > self.offset {
            if let Ok(mut f) = File::open(&self.path) {
                let mut buf = Vec::new();
                if f.seek(SeekFrom::Start(self.offset)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                    self.offset += buf.len() as u64;
                    self.pending.extend(buf);
                }
            }
        }
        let data: Vec<u8> = self.pending.iter().copied().collect();
        let (entries, used) = parse(&data);
        self.pending.drain(..used);
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pump_converts_and_resumes() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = RunFiles::new(dir.path(), 0);
        std::fs::write(files.stdout(), "one\ntwo\npart").expect("w");
        std::fs::write(files.stderr(), "err\n").expect("w");
        let mut p = Pump::open(files.clone());
        assert!(p.pump());
        drop(p);
        // A new agent continues from the recorded offsets.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(files.stdout())
            .expect("o");
        f.write_all(b"ial\nthree\n").expect("w");
        let mut p = Pump::open(files.clone());
        p.pump();
        p.finish();
        let entries = select(read_run(&files).0, &LogOptions::default());
        let text: Vec<String> = entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.content).to_string())
            .collect();
        assert_eq!(text, ["one", "two", "err", "partial", "three"]);
        assert!(!files.stdout().exists());

        let tail = select(
            read_run(&files).0,
            &LogOptions {
                tail_lines: Some(2),
                ..Default::default()
            },
        );
        let mut out = Vec::new();
        render(&tail, &LogOptions::default(), &mut out);
        assert_eq!(String::from_utf8_lossy(&out), "partial\nthree\n");

        let mut out = Vec::new();
        render(
            &tail[..1],
            &LogOptions {
                timestamps: true,
                ..Default::default()
            },
            &mut out,
        );
        let s = String::from_utf8_lossy(&out).to_string();
        let (ts, rest) = s.split_once(' ').expect("ts");
        assert!(ts.parse::<Timestamp>().is_ok(), "{ts}");
        assert_eq!(rest, "partial\n");
    }

    #[test]
    fn rotation_keeps_disk_use_bounded() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = RunFiles::new(dir.path(), 3);
        let mut p = Pump::open(files.clone());
        p.max_log = 2048;
        for i in 0..200 {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(files.stdout())
                .expect("o");
            writeln!(f, "line {i:04} {}", "x".repeat(40)).expect("w");
            p.pump();
        }
        p.finish();
        let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert!(size(files.log()) <= 2048 + 100);
        assert!(size(files.rotated()) <= 2048 + 100);
        let entries = read_run(&files).0;
        let last = String::from_utf8_lossy(&entries[entries.len() - 1].content).to_string();
        assert!(last.starts_with("line 0199 "), "{last}");
        // Older runs go; the previous one stays.
        std::fs::write(dir.path().join("1.log"), "").expect("w");
        std::fs::write(dir.path().join("2.log"), "").expect("w");
        RunFiles::prune_before(dir.path(), 2);
        assert!(!dir.path().join("1.log").exists());
        assert!(dir.path().join("2.log").exists() && files.log().exists());
    }

    #[test]
    fn follower_sees_appends() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("0.log");
        std::fs::write(&path, "2024-01-01T00:00:00Z stdout F old\n").expect("w");
        let len = std::fs::metadata(&path).expect("len").len();
        let mut f = Follower::at(path.clone(), len);
        assert!(f.poll().is_empty());
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("o");
        w.write_all(b"2024-01-01T00:00:01Z stdout F new\n2024-01-01T00:00:02Z std")
            .expect("w");
        let got = f.poll();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].content, b"new");
        w.write_all(b"out F more\n").expect("w");
        assert_eq!(f.poll()[0].content, b"more");
    }
}
