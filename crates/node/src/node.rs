//! The Node object and its Lease.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, NodeCondition};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::env::NodeResources;
use crate::Agent;

/// Pods this node accepts; more than a kubelet's 110 because a pod here is
/// only a process and an address out of a 4096-address block.
const MAX_PODS: i64 = 1000;
const LEASE_SECONDS: i32 = 40;
const LEASE_RENEW: Duration = Duration::from_secs(10);
const STATUS_EVERY: Duration = Duration::from_secs(60);
/// Reported so kubectl's version skew checks stay quiet.
const KUBELET_VERSION: &str = "v1.32.0";

/// CPU and memory of this machine.
pub fn machine_resources() -> NodeResources {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1);
    let mem_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<i64>().ok())
        })
        .unwrap_or(0);
    NodeResources {
        cpu_millis: cpus * 1000,
        memory_bytes: mem_kib * 1024,
        ephemeral_bytes: 0,
    }
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn os_image() -> String {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_else(|| "Linux".into())
}

fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `since`: when the conditions took their values (this agent's start).
fn conditions(ready: bool, now: Timestamp, since: Timestamp) -> serde_json::Value {
    let c = |t: &str, status: &str, reason: &str, message: &str| {
        json!(NodeCondition {
            type_: t.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_heartbeat_time: Some(Time(now)),
            last_transition_time: Some(Time(since)),
        })
    };
    json!([
        c(
            "MemoryPressure",
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available"
        ),
        c(
            "DiskPressure",
            "False",
            "KubeletHasNoDiskPressure",
            "kubelet has no disk pressure"
        ),
        c(
            "PIDPressure",
            "False",
            "KubeletHasSufficientPID",
            "kubelet has sufficient PID available"
        ),
        if ready {
            c(
                "Ready",
                "True",
                "KubeletReady",
                "kubelet is posting ready status",
            )
        } else {
            c(
                "Ready",
                "False",
                "KubeletNotReady",
                "the slipway node agent is stopped",
            )
        },
    ])
}

fn status(agent: &Agent, port: u16, ready: bool) -> serde_json::Value {
    let r = &agent.resources;
    let mut res = BTreeMap::new();
    res.insert(
        "cpu".to_string(),
        Quantity((r.cpu_millis / 1000).to_string()),
    );
    res.insert(
        "memory".to_string(),
        Quantity(format!("{}Ki", r.memory_bytes / 1024)),
    );
    res.insert("pods".to_string(), Quantity(MAX_PODS.to_string()));
    let now = Timestamp::now();
    json!({
        "addresses": [
            {"type": "InternalIP", "address": agent.host_ip.to_string()},
            {"type": "Hostname", "address": agent.cfg.node_name},
        ],
        "capacity": res,
        "allocatable": res,
        "conditions": conditions(ready, now, agent.started_at),
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
        "nodeInfo": {
            "machineID": read_trim("/etc/machine-id"),
            "systemUUID": read_trim("/etc/machine-id"),
            "bootID": read_trim("/proc/sys/kernel/random/boot_id"),
            "kernelVersion": read_trim("/proc/sys/kernel/osrelease"),
            "osImage": os_image(),
            "containerRuntimeVersion": format!("slipway://{}", env!("CARGO_PKG_VERSION")),
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": arch(),
        },
    })
}

/// Create the Node, or bring an existing one up to date.
pub async fn register(agent: &Agent, port: u16) -> Result<(), kube::Error> {
    let api: Api<Node> = Api::all(agent.client.clone());
    let name = &agent.cfg.node_name;
    let labels = json!({
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch(),
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": arch(),
        "node-role.kubernetes.io/control-plane": "",
    });
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
    }))
    .map_err(kube::Error::SerdeError)?;
    match api.create(&PostParams::default(), &node).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {
            api.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": labels}})),
            )
            .await?;
        }
        Err(e) => return Err(e),
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status(agent, port, true)})),
    )
    .await?;
    renew_lease(agent).await;
    Ok(())
}

/// Renew the Lease every 10 s and refresh the Node status every minute.
pub async fn heartbeat(agent: std::sync::Arc<Agent>, port: u16) {
    let mut since_status = Duration::ZERO;
    loop {
        tokio::time::sleep(LEASE_RENEW).await;
        renew_lease(&agent).await;
        since_status += LEASE_RENEW;
        if since_status >= STATUS_EVERY {
            since_status = Duration::ZERO;
            let api: Api<Node> = Api::all(agent.client.clone());
            let patch = json!({"status": status(&agent, port, true)});
            if let Err(e) = api
                .patch_status(
                    &agent.cfg.node_name,
                    &PatchParams::default(),
                    &Patch::Merge(patch),
                )
                .await
            {
                tracing::warn!(error = %e, "updating node status failed");
            }
        }
    }
}

async fn renew_lease(agent: &Agent) {
    let api: Api<Lease> = Api::namespaced(agent.client.clone(), "kube-node-lease");
    let name = &agent.cfg.node_name;
    let now = Timestamp::now();
    let owner = match Api::<Node>::all(agent.client.clone()).get(name).await {
        Ok(n) => n.metadata.uid.map(|uid| OwnerReference {
            api_version: "v1".into(),
            kind: "Node".into(),
            name: name.clone(),
            uid,
            ..Default::default()
        }),
        Err(_) => None,
    };
    let spec = LeaseSpec {
        holder_identity: Some(name.clone()),
        lease_duration_seconds: Some(LEASE_SECONDS),
        renew_time: Some(MicroTime(now)),
        ..Default::default()
    };
    let patch = json!({"spec": spec});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some("kube-node-lease".into()),
                    owner_references: owner.map(|o| vec![o]),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    acquire_time: Some(MicroTime(now)),
                    ..spec
                }),
            };
            if let Err(e) = api.create(&PostParams::default(), &lease).await {
                tracing::warn!(error = %e, "creating node lease failed");
            }
        }
        Err(e) => tracing::warn!(error = %e, "renewing node lease failed"),
    }
}

/// On a graceful stop: the Node is no longer ready.
pub async fn mark_not_ready(agent: &Agent) {
    let api: Api<Node> = Api::all(agent.client.clone());
    let patch =
        json!({"status": {"conditions": conditions(false, Timestamp::now(), Timestamp::now())}});
    if let Err(e) = api
        .patch_status(
            &agent.cfg.node_name,
            &PatchParams::default(),
            &Patch::Merge(patch),
        )
        .await
    {
        tracing::warn!(error = %e, "marking node not ready failed");
    }
}
