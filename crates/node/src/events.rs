//! core/v1 Events, aggregated like client-go's recorder: a repeat of the
//! same reason and message for the same object bumps `count` and
//! `lastTimestamp` instead of creating another Event. Recording never
//! waits for the API: events queue to one writer task (in order), and are
//! dropped if the queue is full, as client-go's broadcaster does.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;

/// The object an event is about.
#[derive(Debug, Clone, Default)]
pub struct Involved {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub field_path: Option<String>,
}

impl Involved {
    pub fn pod(p: &Pod) -> Involved {
        Involved {
            namespace: p.metadata.namespace.clone().unwrap_or_default(),
            name: p.metadata.name.clone().unwrap_or_default(),
            uid: p.metadata.uid.clone().unwrap_or_default(),
            field_path: None,
        }
    }

    pub fn container(&self, field_path: String) -> Involved {
        Involved {
            field_path: Some(field_path),
            ..self.clone()
        }
    }
}

type Key = (String, Option<String>, String, String);

/// Queues events for [`Writer`].
#[derive(Clone)]
pub struct Recorder {
    tx: tokio::sync::mpsc::Sender<Request>,
}

struct Request {
    obj: Involved,
    type_: &'static str,
    reason: String,
    message: String,
}

/// Posts queued events.
struct Writer {
    client: Client,
    component: String,
    host: String,
    seen: Mutex<HashMap<Key, (String, i32)>>,
}

impl Recorder {
    /// Start the writer task; it ends when every `Recorder` clone is dropped.
    pub fn new(client: Client, component: &str, host: &str) -> Recorder {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Request>(1024);
        let w = Writer {
            client,
            component: component.to_string(),
            host: host.to_string(),
            seen: Mutex::new(HashMap::new()),
        };
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                w.record(&r.obj, r.type_, &r.reason, r.message).await;
            }
        });
        Recorder { tx }
    }

    pub async fn normal(&self, obj: &Involved, reason: &str, message: String) {
        self.queue(obj, "Normal", reason, message);
    }

    pub async fn warning(&self, obj: &Involved, reason: &str, message: String) {
        self.queue(obj, "Warning", reason, message);
    }

    fn queue(&self, obj: &Involved, type_: &'static str, reason: &str, message: String) {
        let r = Request {
            obj: obj.clone(),
            type_,
            reason: reason.to_string(),
            message,
        };
        if self.tx.try_send(r).is_err() {
            tracing::debug!(reason, "event queue full; event dropped");
        }
    }
}

impl Writer {
    /// Failures are logged, never returned: an event is best effort.
    async fn record(&self, obj: &Involved, type_: &str, reason: &str, message: String) {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &obj.namespace);
        let key: Key = (
            obj.uid.clone(),
            obj.field_path.clone(),
            reason.to_string(),
            message.clone(),
        );
        let now = Timestamp::now();
        let prior = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .cloned();
        if let Some((name, count)) = prior {
            let patch = serde_json::json!({"count": count + 1, "lastTimestamp": Time(now)});
            if api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .is_ok()
            {
                self.seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key, (name, count + 1));
                return;
            }
        }
        let name = format!(
            "{}.{:x}",
            obj.name,
            now.as_nanosecond() as u128 & 0xffff_ffff_ffff_ffff
        );
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(obj.namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(obj.name.clone()),
                namespace: Some(obj.namespace.clone()),
                uid: Some(obj.uid.clone()),
                field_path: obj.field_path.clone(),
                ..Default::default()
            },
            reason: Some(reason.to_string()),
            message: Some(message),
            type_: Some(type_.to_string()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: Some(self.host.clone()),
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            event_time: None::<MicroTime>,
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.host.clone()),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                // Aggregation is best effort; forgetting old keys bounds memory.
                if seen.len() >= 4096 {
                    seen.clear();
                }
                seen.insert(key, (name, 1));
            }
            Err(e) => tracing::debug!(error = %e, reason, "recording event failed"),
        }
    }
}
