//! Service lists for the service environment variables, shared by the pods
//! that start together.
//!
//! Every container start needs its namespace's Services (and the default
//! namespace's `kubernetes`). A burst of pod starts would list them once
//! per container; instead one list per namespace is in flight at a time,
//! and a pod reuses the last one when it is fresh enough for it: taken at a
//! resourceVersion at or after the one the agent first saw the pod at (so
//! it holds every Service created before the pod was bound, a stronger
//! promise than upstream's, which only has the kubelet's informer), and no
//! older than [`MAX_AGE`]. Restarts (no resourceVersion given) always list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use kube::Client;
use tokio::time::Instant;

/// The oldest list reused.
const MAX_AGE: Duration = Duration::from_secs(2);

struct Cached {
    rv: u64,
    at: Instant,
    items: Arc<Vec<Service>>,
}

type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

pub struct ServiceLists {
    client: Client,
    slots: Mutex<HashMap<String, Slot>>,
}

impl ServiceLists {
    pub fn new(client: Client) -> ServiceLists {
        ServiceLists {
            client,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The Services of `namespace`, as of `min_rv` or later (see the module
    /// docs); a fresh list when `min_rv` is `None`.
    pub async fn list(
        &self,
        namespace: &str,
        min_rv: Option<u64>,
    ) -> Result<Arc<Vec<Service>>, kube::Error> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(namespace.to_string())
            .or_default()
            .clone();
        // One list per namespace at a time: who waits reuses its result.
        let mut cached = slot.lock().await;
        if let (Some(min), Some(c)) = (min_rv, cached.as_ref()) {
            if c.rv >= min && c.at.elapsed() <= MAX_AGE {
                return Ok(c.items.clone());
            }
        }
        let list = Api::<Service>::namespaced(self.client.clone(), namespace)
            .list(&ListParams::default())
            .await?;
        let items = Arc::new(list.items);
        // Reused only with a resourceVersion to compare against.
        *cached = list
            .metadata
            .resource_version
            .and_then(|rv| rv.parse().ok())
            .map(|rv| Cached {
                rv,
                at: Instant::now(),
                items: items.clone(),
            });
        Ok(items)
    }
}

/// A resourceVersion as a number, when it is one (slipway's are).
pub fn rv_number(rv: Option<&str>) -> Option<u64> {
    rv.and_then(|s| s.parse().ok())
}
