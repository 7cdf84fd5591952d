//! core/v1 Events, as upstream's legacy event recorder writes them: what
//! `kubectl describe` lists (`involvedObject`, `reason`, `message`, `type`,
//! `source.component`, first/last timestamps and `count`).
//!
//! kube-runtime's `Recorder` writes `events.k8s.io/v1` objects, which this
//! server stores separately from core/v1 events, so we write core/v1 directly.
//! Repeats of the same event on the same object bump `count` instead of adding
//! a new object, as upstream's correlator does.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Client;
use parking_lot::Mutex;
use serde_json::json;

/// Remembered events per recorder before the cache starts over.
const CACHE_LIMIT: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// What makes two events the same: involved UID, type, reason, message.
type EventKey = (String, EventType, String, String);
/// An event already written: its name, namespace and count.
type Written = (String, String, i32);

/// Writes events for one controller (`source.component`).
pub struct Recorder {
    client: Client,
    component: String,
    seen: Mutex<HashMap<EventKey, Written>>,
}

impl Recorder {
    pub fn new(client: Client, component: &str) -> Recorder {
        Recorder {
            client,
            component: component.to_string(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Record an event about `about`. Failures are logged, never returned:
    /// an event is never worth failing a reconcile over.
    pub async fn publish(
        &self,
        about: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) {
        if let Err(e) = self.try_publish(about, type_, reason, message).await {
            tracing::debug!(error = %e, reason, "writing event failed");
        }
    }

    async fn try_publish(
        &self,
        about: &ObjectReference,
        type_: EventType,
        reason: &str,
        message: &str,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let key = (
            about.uid.clone().unwrap_or_default(),
            type_,
            reason.to_string(),
            message.to_string(),
        );
        let previous = self.seen.lock().get(&key).cloned();
        if let Some((name, ns, count)) = previous {
            let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
            let patch = json!({"count": count + 1, "lastTimestamp": Time(now)});
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    self.seen.lock().insert(key, (name, ns, count + 1));
                    return Ok(());
                }
                // Gone (expired or deleted): write a fresh one.
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        let ns = about
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        let name = format!(
            "{}.{:x}",
            about.name.as_deref().unwrap_or("unknown"),
            now.as_nanosecond()
        );
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(ns.clone()),
                ..Default::default()
            },
            involved_object: about.clone(),
            reason: Some(reason.to_string()),
            message: Some(message.to_string()),
            type_: Some(type_.as_str().to_string()),
            source: Some(EventSource {
                component: Some(self.component.clone()),
                host: None,
            }),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            count: Some(1),
            reporting_component: Some(self.component.clone()),
            reporting_instance: Some(self.component.clone()),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        api.create(&PostParams::default(), &ev).await?;
        let mut seen = self.seen.lock();
        if seen.len() >= CACHE_LIMIT {
            seen.clear();
        }
        seen.insert(key, (name, ns, 1));
        Ok(())
    }
}
