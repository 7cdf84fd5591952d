//! The kubelet's `containerLogs` endpoint, on the node's address with a bearer token.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use crate::logs::{self, Follower, LogOptions, RunFiles};
use crate::pod::PodShared;
use crate::status::CState;
use crate::Agent;

/// The pods this node runs, by namespace and name.
#[derive(Default)]
pub struct PodIndex {
    pods: Mutex<HashMap<(String, String), Arc<PodShared>>>,
}

impl PodIndex {
    pub fn insert(&self, p: Arc<PodShared>) {
        self.pods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((p.namespace.clone(), p.name.clone()), p);
    }

    /// Remove `p` unless a newer pod of the same name took its place.
    pub fn remove(&self, p: &Arc<PodShared>) {
        let mut pods = self.pods.lock().unwrap_or_else(|e| e.into_inner());
        let key = (p.namespace.clone(), p.name.clone());
        if pods.get(&key).is_some_and(|cur| cur.uid == p.uid) {
            pods.remove(&key);
        }
    }

    fn get(&self, ns: &str, name: &str) -> Option<Arc<PodShared>> {
        self.pods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }
}

pub async fn serve(
    agent: Arc<Agent>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    // On the node's address, where the API server's log proxy looks for it.
    let listener = tokio::net::TcpListener::bind((agent.host_ip, 0)).await?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/containerLogs/{ns}/{pod}/{container}", get(container_logs))
        .with_state(agent);
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "log server stopped");
        }
    });
    Ok((addr, task))
}

fn text(code: StatusCode, msg: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg,
    )
        .into_response()
}

/// A refused request: rendered as plain text, as the kubelet does.
struct Reject(StatusCode, String);

fn reject(code: StatusCode, msg: String) -> Reject {
    Reject(code, msg)
}

fn flag(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn int(q: &HashMap<String, String>, k: &str) -> Result<Option<i64>, Reject> {
    match q.get(k) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .map(Some)
            .map_err(|_| reject(StatusCode::BAD_REQUEST, format!("invalid {k}: {v:?}"))),
    }
}

async fn container_logs(
    State(agent): State<Arc<Agent>>,
    Path((ns, pod, container)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let want = format!("Bearer {}", agent.cfg.token);
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == want);
    if !authorized {
        return text(StatusCode::UNAUTHORIZED, "Unauthorized".into());
    }
    match respond(&agent, &ns, &pod, &container, &q) {
        Ok(r) => r,
        Err(Reject(code, msg)) => text(code, msg),
    }
}

fn respond(
    agent: &Agent,
    ns: &str,
    pod: &str,
    container: &str,
    q: &HashMap<String, String>,
) -> Result<Response, Reject> {
    let Some(shared) = agent.registry.get(ns, pod) else {
        return Err(reject(
            StatusCode::NOT_FOUND,
            format!("pod {pod:?} in namespace {ns:?} is not running on this node"),
        ));
    };
    let previous = flag(q, "previous");
    let follow = flag(q, "follow") && !previous;
    let since =
        match (int(q, "sinceSeconds")?, q.get("sinceTime")) {
            (Some(s), _) => Timestamp::now()
                .checked_sub(SignedDuration::from_secs(s.max(0)))
                .ok(),
            (None, Some(t)) if !t.is_empty() => Some(t.parse::<Timestamp>().map_err(|_| {
                reject(StatusCode::BAD_REQUEST, format!("invalid sinceTime: {t:?}"))
            })?),
            _ => None,
        };
    let opts = LogOptions {
        tail_lines: int(q, "tailLines")?,
        since,
        timestamps: flag(q, "timestamps"),
        limit_bytes: int(q, "limitBytes")?,
    };
    let run = {
        let st = shared.lock();
        let Some(c) = st.find(container) else {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                format!("container {container:?} in pod {pod:?} is not valid"),
            ));
        };
        if previous {
            c.prev_run.ok_or_else(|| {
                reject(
                    StatusCode::BAD_REQUEST,
                    format!("previous terminated container {container:?} in pod {pod:?} not found"),
                )
            })?
        } else {
            match (c.log_run, &c.state) {
                (Some(r), _) => r,
                (None, CState::Waiting { reason, .. }) => {
                    return Err(reject(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "container {container:?} in pod {pod:?} is waiting to start: {reason}"
                        ),
                    ))
                }
                (None, _) => {
                    return Err(reject(
                        StatusCode::BAD_REQUEST,
                        format!("container {container:?} in pod {pod:?} has no logs"),
                    ))
                }
            }
        }
    };
    let files = RunFiles::new(&shared.container_dir(container), run);
    let (entries, offset) = logs::read_run(&files);
    let mut out = Vec::new();
    logs::render(&logs::select(entries, &opts), &opts, &mut out);
    let mut budget = opts.limit_bytes.map(|l| l.max(0) as usize);
    if let Some(b) = budget {
        out.truncate(b);
        budget = Some(b - out.len());
    }
    let ok = |body: Body| {
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body)
            .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "response".into()))
    };
    if !follow || budget == Some(0) {
        return Ok(ok(Body::from(out)));
    }

    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let mut follower = Follower::at(files.log(), offset);
    let ts_opts = LogOptions {
        timestamps: opts.timestamps,
        ..Default::default()
    };
    tokio::spawn(async move {
        if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
            return;
        }
        loop {
            // Decide before reading, so the last lines of a run that just ended still go out.
            let running = {
                let st = shared.lock();
                st.find(&files_container(&files)).is_some_and(|c| {
                    c.log_run == Some(run) && matches!(c.state, CState::Running { .. })
                })
            };
            let entries = follower.poll();
            if !entries.is_empty() {
                let mut chunk = Vec::new();
                logs::render(&entries, &ts_opts, &mut chunk);
                if let Some(b) = budget.as_mut() {
                    chunk.truncate(*b);
                    *b -= chunk.len();
                }
                if tx.send(Bytes::from(chunk)).await.is_err() || budget == Some(0) {
                    return;
                }
            }
            if !running || tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    Ok(ok(Body::from_stream(stream)))
}

/// The container name is the last component of a run's directory.
fn files_container(f: &RunFiles) -> String {
    f.dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default()
}
