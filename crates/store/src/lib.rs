//! A revisioned key/value store over SQLite, shaped like etcd's MVCC as the
//! Kubernetes apiserver uses it.
//!
//! * Every write (create, update, delete) gets the next global revision; that
//!   revision is the object's `resourceVersion`.
//! * One writer thread owns the SQLite connection and commits every write that
//!   is waiting in one transaction (group commit), with `synchronous=FULL`, so
//!   an acknowledged write survives `kill -9` and power loss.
//! * The current state lives in memory for reads; history lives in the SQLite
//!   log so a list can be served at an older revision until it is compacted.
//! * Watchers read from an in-memory ring of recent events; asking for a
//!   revision older than the ring answers [`StoreError::Expired`].
//!
//! The store knows nothing about HTTP or Kubernetes kinds: keys are strings,
//! values are opaque bytes.

mod sqlite;

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, RwLock};

use tokio::sync::{oneshot, watch};

pub use sqlite::Durability;

/// Errors from the store. The apiserver maps each to a Kubernetes Status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key not found")]
    NotFound,
    #[error("key already exists")]
    AlreadyExists,
    #[error("revision conflict: current revision is {current}")]
    Conflict { current: i64 },
    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: i64, oldest: i64 },
    #[error("store is closed")]
    Closed,
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("store io: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The stored bytes of one object.
pub type Value = Arc<[u8]>;

/// A live key at some revision.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub value: Value,
    /// Revision of the last write to this key (`resourceVersion`).
    pub rev: i64,
    /// Revision at which the key was created.
    pub create_rev: i64,
}

/// What happened to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One committed change.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    pub rev: i64,
    pub key: String,
    /// New value for a put; the last value for a delete.
    pub value: Value,
    /// The value before this change (None for a create), so watchers can tell
    /// "stopped matching a filter" from "changed".
    pub prev: Option<Value>,
    pub create_rev: i64,
}

/// A condition a write must meet, checked by the writer inside the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// The key must not exist (create).
    Absent,
    /// The key must exist; any revision.
    Exists,
    /// The key must exist at exactly this revision (compare-and-swap).
    Revision(i64),
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events kept in memory for watch resumption.
    pub ring_capacity: usize,
    pub durability: Durability,
    /// Revisions of history kept before automatic compaction drops older ones.
    pub keep_revisions: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ring_capacity: 20_000,
            durability: Durability::Full,
            keep_revisions: 50_000,
        }
    }
}

/// Cloneable handle to the store.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
    writer: std::sync::mpsc::Sender<sqlite::Request>,
}

struct Shared {
    state: RwLock<State>,
    rev_tx: watch::Sender<i64>,
    reader: std::sync::Mutex<rusqlite::Connection>,
}

struct State {
    objects: BTreeMap<String, Entry>,
    rev: i64,
    /// Oldest revision still present in history (below it lists at a revision expire).
    compacted: i64,
    ring: VecDeque<Arc<Event>>,
    ring_capacity: usize,
    /// The ring holds every event with revision > ring_floor.
    ring_floor: i64,
}

/// A snapshot of matching keys.
#[derive(Debug, Clone)]
pub struct ListResult {
    pub entries: Vec<Entry>,
    /// Revision the snapshot was taken at.
    pub rev: i64,
}

// === impl Store ===

impl Store {
    /// Open (or create) the database in `dir` and start the writer thread.
    pub fn open(dir: &Path, opts: Options) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("state.db");
        let loaded = sqlite::load(&path, opts.ring_capacity)?;
        let (rev_tx, _) = watch::channel(loaded.rev);
        let reader = sqlite::open_reader(&path)?;
        let shared = Arc::new(Shared {
            state: RwLock::new(State {
                objects: loaded.objects,
                rev: loaded.rev,
                compacted: loaded.compacted,
                ring_floor: loaded.ring_floor,
                ring: loaded.ring.into_iter().map(Arc::new).collect(),
                ring_capacity: opts.ring_capacity.max(1),
            }),
            rev_tx,
            reader: std::sync::Mutex::new(reader),
        });
        let writer = sqlite::spawn_writer(&path, &opts, shared.clone())?;
        Ok(Store { shared, writer })
    }

    /// Current global revision.
    pub fn revision(&self) -> i64 {
        self.read().rev
    }

    /// Revision below which history has been compacted away.
    pub fn compacted(&self) -> i64 {
        self.read().compacted
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere while holding it; the
        // state itself is updated atomically under the lock, so keep going.
        self.shared.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        self.read().objects.get(key).cloned()
    }

    /// Every live key starting with `prefix`, in key order, at the current revision.
    pub fn list(&self, prefix: &str) -> ListResult {
        self.list_from(prefix, prefix, usize::MAX)
    }

    /// Live keys starting with `prefix` and `>= start`, at most `limit`, current revision.
    pub fn list_from(&self, prefix: &str, start: &str, limit: usize) -> ListResult {
        let st = self.read();
        let from = if start > prefix { start } else { prefix };
        let entries = st
            .objects
            .range::<str, _>((std::ops::Bound::Included(from), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(_, e)| e.clone())
            .collect();
        ListResult {
            entries,
            rev: st.rev,
        }
    }

    /// Live keys under `prefix` (and `>= start`) as they were at revision `rev`.
    pub fn list_at(&self, prefix: &str, start: &str, rev: i64, limit: usize) -> Result<ListResult> {
        let (current, compacted) = {
            let st = self.read();
            (st.rev, st.compacted)
        };
        if rev >= current {
            return Ok(self.list_from(prefix, start, limit));
        }
        if rev < compacted {
            return Err(StoreError::Expired {
                requested: rev,
                oldest: compacted,
            });
        }
        let conn = self.shared.reader.lock().unwrap_or_else(|e| e.into_inner());
        let entries = sqlite::list_at(&conn, prefix, start, rev, limit)?;
        Ok(ListResult { entries, rev })
    }

    pub async fn create(&self, key: &str, value: Vec<u8>) -> Result<Entry> {
        self.put(key, value, Precondition::Absent).await
    }

    /// Write `value` under `key` if `pre` holds.
    pub async fn put(&self, key: &str, value: Vec<u8>, pre: Precondition) -> Result<Entry> {
        match self.submit(key, Some(value), pre).await? {
            Some(e) => Ok(e),
            None => Err(StoreError::Closed),
        }
    }

    /// Delete `key` if `pre` holds; returns the last entry (value before delete,
    /// revision of the delete).
    pub async fn delete(&self, key: &str, pre: Precondition) -> Result<Entry> {
        match self.submit(key, None, pre).await? {
            Some(e) => Ok(e),
            None => Err(StoreError::Closed),
        }
    }

    async fn submit(
        &self,
        key: &str,
        value: Option<Vec<u8>>,
        pre: Precondition,
    ) -> Result<Option<Entry>> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(sqlite::Request::Write {
                key: key.to_string(),
                value: value.map(Into::into),
                pre,
                reply: tx,
            })
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?.map(Some)
    }

    /// Start watching keys under `prefix` for changes after revision `after`.
    /// Fails with `Expired` when `after` is older than the event ring.
    pub fn watch(&self, prefix: &str, after: i64) -> Result<Watcher> {
        let st = self.read();
        if after < st.ring_floor {
            return Err(StoreError::Expired {
                requested: after,
                oldest: st.ring_floor,
            });
        }
        Ok(Watcher {
            shared: self.shared.clone(),
            prefix: prefix.to_string(),
            cursor: after,
            rev_rx: self.shared.rev_tx.subscribe(),
        })
    }

    /// Consistent snapshot of `prefix` plus a watcher positioned right after it.
    pub fn list_and_watch(&self, prefix: &str) -> (ListResult, Watcher) {
        let st = self.read();
        let entries = st
            .objects
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, e)| e.clone())
            .collect();
        let w = Watcher {
            shared: self.shared.clone(),
            prefix: prefix.to_string(),
            cursor: st.rev,
            rev_rx: self.shared.rev_tx.subscribe(),
        };
        (
            ListResult {
                entries,
                rev: st.rev,
            },
            w,
        )
    }

    /// Drop history at or below `rev` (keeping the live value of every key) so the
    /// database does not grow without bound. Lists below `rev` then expire.
    pub async fn compact(&self, rev: i64) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(sqlite::Request::Compact { rev, reply: tx })
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

// === impl Watcher ===

/// A cursor into the event ring.
pub struct Watcher {
    shared: Arc<Shared>,
    prefix: String,
    cursor: i64,
    rev_rx: watch::Receiver<i64>,
}

impl Watcher {
    /// The revision of the last event delivered (or the start revision).
    pub fn revision(&self) -> i64 {
        self.cursor
    }

    /// Wait for the next batch of events under the prefix. Returns `Expired`
    /// when the watcher fell behind the ring, `Closed` when the store stopped.
    pub async fn next(&mut self) -> Result<Vec<Arc<Event>>> {
        loop {
            {
                let st = self.shared.state.read().unwrap_or_else(|e| e.into_inner());
                if self.cursor < st.ring_floor {
                    return Err(StoreError::Expired {
                        requested: self.cursor,
                        oldest: st.ring_floor,
                    });
                }
                if st.rev > self.cursor {
                    let cursor = self.cursor;
                    let skip = st.ring.partition_point(|e| e.rev <= cursor);
                    let out: Vec<Arc<Event>> = st
                        .ring
                        .iter()
                        .skip(skip)
                        .filter(|e| e.key.starts_with(&self.prefix))
                        .cloned()
                        .collect();
                    self.cursor = st.rev;
                    if !out.is_empty() {
                        return Ok(out);
                    }
                    continue;
                }
            }
            if self.rev_rx.changed().await.is_err() {
                return Err(StoreError::Closed);
            }
        }
    }
}

// === impl State ===

impl State {
    /// Apply a committed event to memory: current objects, revision, ring.
    fn apply(&mut self, ev: Event) {
        match ev.kind {
            EventKind::Put => {
                self.objects.insert(
                    ev.key.clone(),
                    Entry {
                        key: ev.key.clone(),
                        value: ev.value.clone(),
                        rev: ev.rev,
                        create_rev: ev.create_rev,
                    },
                );
            }
            EventKind::Delete => {
                self.objects.remove(&ev.key);
            }
        }
        self.rev = ev.rev;
        if self.ring.len() >= self.ring_capacity {
            if let Some(old) = self.ring.pop_front() {
                self.ring_floor = self.ring_floor.max(old.rev);
            }
        }
        self.ring.push_back(Arc::new(ev));
    }
}

#[cfg(test)]
mod tests;
