//! The SQLite side of the store: schema, loading at start-up, the single
//! writer thread with group commit, historical reads and compaction.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;

use crate::{Entry, Event, EventKind, Options, Precondition, Result, Shared, StoreError, Value};

/// How hard a commit is pushed to disk before it is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync on every group commit: survives power loss.
    Full,
    /// WAL without fsync per commit: survives a process crash (kill -9), not power loss.
    Normal,
}

/// Upper bound on writes folded into one transaction.
const MAX_BATCH: usize = 512;

pub(crate) enum Request {
    Write {
        key: String,
        value: Option<Value>,
        pre: Precondition,
        reply: oneshot::Sender<Result<Entry>>,
    },
    Compact {
        rev: i64,
        reply: oneshot::Sender<Result<()>>,
    },
}

pub(crate) struct Loaded {
    pub objects: BTreeMap<String, Entry>,
    pub rev: i64,
    pub compacted: i64,
    pub ring: Vec<Event>,
    pub ring_floor: i64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    rev INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    prev_rev INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    value BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

fn open_writer(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    Ok(conn)
}

fn meta_get(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .unwrap_or(0))
}

/// Read the current state and the tail of the log into memory.
pub(crate) fn load(path: &Path, ring_capacity: usize) -> Result<Loaded> {
    // Creating the schema here too lets the read-only connection open a new file.
    let conn = open_writer(path, Durability::Full)?;
    let compacted = meta_get(&conn, "compacted")?;
    let max_rev: i64 = conn.query_row("SELECT COALESCE(MAX(rev), 0) FROM log", [], |r| r.get(0))?;
    let rev = max_rev.max(compacted);

    let mut objects = BTreeMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT l.key, l.rev, l.create_rev, l.value FROM log l
             JOIN (SELECT key, MAX(rev) AS r FROM log GROUP BY key) m ON l.key = m.key AND l.rev = m.r
             WHERE l.deleted = 0",
        )?;
        let rows = stmt.query_map([], |r| {
            let value: Vec<u8> = r.get(3)?;
            Ok(Entry {
                key: r.get(0)?,
                rev: r.get(1)?,
                create_rev: r.get(2)?,
                value: value.into(),
            })
        })?;
        for e in rows {
            let e = e?;
            objects.insert(e.key.clone(), e);
        }
    }

    // Preload the ring so watches can resume across a restart.
    let from = rev - ring_capacity as i64;
    let mut ring = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT rev, key, create_rev, prev_rev, deleted, value FROM log WHERE rev > ?1 ORDER BY rev",
        )?;
        let rows = stmt.query_map([from], |r| {
            let value: Vec<u8> = r.get(5)?;
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                value,
            ))
        })?;
        let mut by_rev: HashMap<i64, Value> = HashMap::new();
        for row in rows {
            let (rev, key, create_rev, prev_rev, deleted, value) = row?;
            let value: Value = value.into();
            let prev = if prev_rev == 0 {
                None
            } else if let Some(v) = by_rev.get(&prev_rev) {
                Some(v.clone())
            } else {
                conn.query_row("SELECT value FROM log WHERE rev = ?1", [prev_rev], |r| {
                    r.get::<_, Vec<u8>>(0)
                })
                .optional()?
                .map(Into::into)
            };
            by_rev.insert(rev, value.clone());
            let kind = if deleted != 0 {
                EventKind::Delete
            } else {
                EventKind::Put
            };
            ring.push(Event {
                kind,
                rev,
                key,
                value,
                prev,
                create_rev,
            });
        }
    }
    let ring_floor = ring
        .first()
        .map(|e| e.rev - 1)
        .unwrap_or(rev)
        .max(compacted);
    Ok(Loaded {
        objects,
        rev,
        compacted,
        ring,
        ring_floor,
    })
}

pub(crate) fn spawn_writer(
    path: &Path,
    opts: &Options,
    shared: Arc<Shared>,
) -> Result<Sender<Request>> {
    let conn = open_writer(path, opts.durability)?;
    let (tx, rx) = std::sync::mpsc::channel();
    let keep = opts.keep_revisions.max(1);
    std::thread::Builder::new()
        .name("store-writer".into())
        .spawn(move || writer_loop(conn, rx, shared, keep))?;
    Ok(tx)
}

struct Pending {
    event: Event,
    prev_rev: i64,
    reply: oneshot::Sender<Result<Entry>>,
}

fn writer_loop(mut conn: Connection, rx: Receiver<Request>, shared: Arc<Shared>, keep: i64) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let mut writes = Vec::with_capacity(batch.len());
        for req in batch {
            match req {
                Request::Write {
                    key,
                    value,
                    pre,
                    reply,
                } => writes.push((key, value, pre, reply)),
                Request::Compact { rev, reply } => {
                    let _ = reply.send(compact(&mut conn, &shared, rev));
                }
            }
        }
        if writes.is_empty() {
            continue;
        }
        commit_batch(&mut conn, &shared, writes);

        let (rev, compacted) = {
            let st = shared.state.read().unwrap_or_else(|e| e.into_inner());
            (st.rev, st.compacted)
        };
        // Compact in steps of `keep` so one pass stays short and writes are not
        // held up for long.
        if rev - compacted > 2 * keep {
            if let Err(e) = compact(&mut conn, &shared, rev - keep) {
                tracing::warn!(error = %e, "automatic compaction failed");
            }
        }
    }
}

type Write = (
    String,
    Option<Value>,
    Precondition,
    oneshot::Sender<Result<Entry>>,
);

/// Check preconditions, write every accepted change in one transaction, then
/// publish to memory and reply. A reply is sent only after the commit.
fn commit_batch(conn: &mut Connection, shared: &Shared, writes: Vec<Write>) {
    let (mut rev, snapshot_of) = {
        let st = shared.state.read().unwrap_or_else(|e| e.into_inner());
        let rev = st.rev;
        // Only the keys this batch touches are needed.
        let keys: HashMap<String, Option<Entry>> = writes
            .iter()
            .map(|(k, ..)| (k.clone(), st.objects.get(k).cloned()))
            .collect();
        (rev, keys)
    };
    let mut current = snapshot_of;
    let mut pending: Vec<Pending> = Vec::with_capacity(writes.len());

    for (key, value, pre, reply) in writes {
        let existing = current.get(&key).cloned().flatten();
        let check = match (pre, &existing) {
            (Precondition::Absent, Some(_)) => Err(StoreError::AlreadyExists),
            (Precondition::Absent, None) => Ok(()),
            (_, None) => Err(StoreError::NotFound),
            (Precondition::Revision(r), Some(e)) if e.rev != r => {
                Err(StoreError::Conflict { current: e.rev })
            }
            _ => Ok(()),
        };
        if let Err(e) = check {
            let _ = reply.send(Err(e));
            continue;
        }
        if value.is_none() && existing.is_none() {
            let _ = reply.send(Err(StoreError::NotFound));
            continue;
        }
        rev += 1;
        let (kind, new_value, create_rev) = match value {
            Some(v) => (
                EventKind::Put,
                v,
                existing.as_ref().map(|e| e.create_rev).unwrap_or(rev),
            ),
            None => match &existing {
                Some(e) => (EventKind::Delete, e.value.clone(), e.create_rev),
                None => continue,
            },
        };
        let event = Event {
            kind,
            rev,
            key: key.clone(),
            value: new_value.clone(),
            prev: existing.as_ref().map(|e| e.value.clone()),
            create_rev,
        };
        current.insert(
            key.clone(),
            match kind {
                EventKind::Put => Some(Entry {
                    key,
                    value: new_value,
                    rev,
                    create_rev,
                }),
                EventKind::Delete => None,
            },
        );
        let prev_rev = existing.as_ref().map(|e| e.rev).unwrap_or(0);
        pending.push(Pending {
            event,
            prev_rev,
            reply,
        });
    }
    if pending.is_empty() {
        return;
    }

    let result = (|| -> Result<()> {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO log (rev, key, create_rev, prev_rev, deleted, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for p in &pending {
                let e = &p.event;
                let prev_rev = p.prev_rev;
                stmt.execute(params![
                    e.rev,
                    e.key,
                    e.create_rev,
                    prev_rev,
                    (e.kind == EventKind::Delete) as i64,
                    &e.value[..]
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    })();

    match result {
        Ok(()) => {
            let last = {
                let mut st = shared.state.write().unwrap_or_else(|e| e.into_inner());
                for p in &pending {
                    st.apply(p.event.clone());
                }
                st.rev
            };
            shared.rev_tx.send_replace(last);
            for p in pending {
                let e = p.event;
                let _ = p.reply.send(Ok(Entry {
                    key: e.key,
                    value: e.value,
                    rev: e.rev,
                    create_rev: e.create_rev,
                }));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, "store commit failed");
            let msg = err.to_string();
            for p in pending {
                let _ = p
                    .reply
                    .send(Err(StoreError::Io(std::io::Error::other(msg.clone()))));
            }
        }
    }
}

fn compact(conn: &mut Connection, shared: &Shared, target: i64) -> Result<()> {
    let tx = conn.transaction()?;
    // Drop every row at or below the target that a newer row (also at or below
    // the target) supersedes, and tombstones: what remains answers lists at
    // any revision >= target.
    tx.execute(
        "DELETE FROM log WHERE rev <= ?1 AND (deleted = 1 OR EXISTS (
            SELECT 1 FROM log n WHERE n.key = log.key AND n.rev > log.rev AND n.rev <= ?1))",
        [target],
    )?;
    tx.execute("INSERT INTO meta (name, value) VALUES ('compacted', ?1) ON CONFLICT(name) DO UPDATE SET value = excluded.value", [target])?;
    tx.commit()?;
    let mut st = shared.state.write().unwrap_or_else(|e| e.into_inner());
    st.compacted = st.compacted.max(target);
    st.ring_floor = st.ring_floor.max(st.compacted.min(st.rev));
    Ok(())
}

/// Live keys under `prefix` (>= start) as of `rev`, from the log.
pub(crate) fn list_at(
    conn: &Connection,
    prefix: &str,
    start: &str,
    rev: i64,
    limit: usize,
) -> Result<Vec<Entry>> {
    let end = format!("{prefix}{}", char::MAX);
    let from = if start > prefix { start } else { prefix };
    let mut stmt = conn.prepare_cached(
        "SELECT l.key, l.rev, l.create_rev, l.value FROM log l
         JOIN (SELECT key, MAX(rev) AS r FROM log WHERE rev <= ?1 AND key >= ?2 AND key < ?3 GROUP BY key) m
           ON l.key = m.key AND l.rev = m.r
         WHERE l.deleted = 0 ORDER BY l.key LIMIT ?4",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![rev, from, end, limit], |r| {
        let value: Vec<u8> = r.get(3)?;
        Ok(Entry {
            key: r.get(0)?,
            rev: r.get(1)?,
            create_rev: r.get(2)?,
            value: value.into(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
