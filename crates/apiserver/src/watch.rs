//! Watch: newline-delimited JSON events streamed from the store's event ring,
//! filtered by namespace and selectors, optionally as Table rows.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use api::crd::ServedVersion;
use api::registry::Resource;
use store::{EventKind, StoreError, Watcher};

use crate::error::{ApiError, ApiResult};
use crate::handlers::{with_type, Filters};
use crate::http::{self, Query};
use crate::objects;
use crate::printing;
use crate::resources::{collection_prefix, Target};
use crate::ApiState;

/// How often a watch with `allowWatchBookmarks` gets a BOOKMARK.
const BOOKMARK_EVERY: Duration = Duration::from_secs(30);

/// How one event object is rendered.
struct Render {
    res: Resource,
    custom: Option<ServedVersion>,
    table: bool,
    include: printing::IncludeObject,
}

impl Render {
    fn object(&self, v: Value) -> Value {
        let v = with_type(&self.res, v);
        if self.table {
            let rv = objects::meta_str(&v, "resourceVersion")
                .unwrap_or("")
                .to_string();
            printing::table(&self.res, self.custom.as_ref(), &[v], &rv, "", self.include)
        } else {
            v
        }
    }

    fn line(&self, kind: &str, v: Value) -> Vec<u8> {
        let mut out = serde_json::to_vec(&json!({"type": kind, "object": self.object(v)}))
            .unwrap_or_default();
        out.push(b'\n');
        out
    }
}

fn error_line(e: &ApiError) -> Vec<u8> {
    let mut out = serde_json::to_vec(&json!({"type": "ERROR", "object": e.status_json()}))
        .unwrap_or_default();
    out.push(b'\n');
    out
}

pub async fn serve(
    state: Arc<ApiState>,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
) -> ApiResult<Response<Body>> {
    let res = t.resource.clone();
    let filters = Filters::parse(&res, q)?;
    let prefix = collection_prefix(&res, t.namespace.as_deref());
    let custom = if res.custom {
        state.registry.custom(&res.group, &res.version, &res.plural)
    } else {
        None
    };
    let render = Render {
        res: res.clone(),
        custom,
        table: http::wants_table(headers),
        include: printing::IncludeObject::from_query(q.get("includeObject")),
    };
    let bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs)
        // Like kube-apiserver: a long but finite default, randomised so
        // reconnects of many clients spread out.
        .unwrap_or_else(|| Duration::from_secs(1800 + rand::random::<u64>() % 1800));

    let rv = q
        .get("resourceVersion")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    let (initial, watcher): (Vec<Value>, Result<Watcher, StoreError>) = if rv == 0 {
        let (list, w) = state.store.list_and_watch(&prefix);
        let mut items = Vec::new();
        for e in list.entries {
            let v = objects::decode_stored(&e.value, e.rev)?;
            if filters.matches(&v) {
                items.push(v);
            }
        }
        (items, Ok(w))
    } else {
        (Vec::new(), state.store.watch(&prefix, rv))
    };

    let (tx, rx) = mpsc::channel::<Vec<u8>>(64);
    match watcher {
        Err(StoreError::Expired { requested, oldest }) => {
            let e = ApiError::expired(format!("too old resource version: {requested} ({oldest})"));
            let _ = tx.try_send(error_line(&e));
        }
        Err(e) => return Err(e.into()),
        Ok(w) => {
            let kind = res.kind.clone();
            let api_version = res.api_version();
            tokio::spawn(async move {
                for v in initial {
                    if tx.send(render.line("ADDED", v)).await.is_err() {
                        return;
                    }
                }
                let deadline = tokio::time::Instant::now() + timeout;
                pump(
                    w,
                    &render,
                    &filters,
                    &tx,
                    bookmarks,
                    &kind,
                    &api_version,
                    deadline,
                )
                .await;
            });
        }
    }
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    }));
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(resp)
}

fn bookmark_line(kind: &str, api_version: &str, rev: i64) -> Vec<u8> {
    let bm = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rev.to_string()}}});
    let mut line = serde_json::to_vec(&bm).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Forward store events until the client goes away, the watcher expires or
/// the deadline passes. With bookmarks allowed, one is sent periodically and
/// one right before the deadline, so the client resumes from a fresh revision.
#[allow(clippy::too_many_arguments)]
async fn pump(
    mut w: Watcher,
    render: &Render,
    filters: &Filters,
    tx: &mpsc::Sender<Vec<u8>>,
    bookmarks: bool,
    kind: &str,
    api_version: &str,
    deadline: tokio::time::Instant,
) {
    let mut tick = tokio::time::interval(BOOKMARK_EVERY);
    tick.tick().await;
    loop {
        let batch = tokio::select! {
            b = w.next() => b,
            _ = tick.tick(), if bookmarks => {
                if tx.send(bookmark_line(kind, api_version, w.revision())).await.is_err() { return; }
                continue;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if bookmarks {
                    let _ = tx.send(bookmark_line(kind, api_version, w.revision())).await;
                }
                return;
            }
            _ = tx.closed() => return,
        };
        let events = match batch {
            Ok(evs) => evs,
            Err(StoreError::Expired { requested, oldest }) => {
                let e =
                    ApiError::expired(format!("too old resource version: {requested} ({oldest})"));
                let _ = tx.send(error_line(&e)).await;
                return;
            }
            Err(_) => return,
        };
        for ev in events {
            let Ok(new) = objects::decode_stored(&ev.value, ev.rev) else {
                continue;
            };
            let new_matches = filters.matches(&new);
            let old_matches = ev
                .prev
                .as_ref()
                .and_then(|p| serde_json::from_slice::<Value>(p).ok())
                .is_some_and(|p| filters.matches(&p));
            let kind = match (ev.kind, old_matches, new_matches) {
                (EventKind::Delete, _, true) => "DELETED",
                (EventKind::Delete, _, false) => continue,
                (EventKind::Put, true, true) => "MODIFIED",
                (EventKind::Put, false, true) => "ADDED",
                (EventKind::Put, true, false) => "DELETED",
                (EventKind::Put, false, false) => continue,
            };
            if tx.send(render.line(kind, new)).await.is_err() {
                return;
            }
        }
    }
}
