//! The Pod printer: the aggregate Ready / Status / Restarts cells kubectl
//! users read every day, following upstream `printPod` step by step.

use serde_json::Value;

use super::descriptions as d;
use super::format::{arr_at, bool_at, get, int_at, str_at};
use super::{age, human_duration, name_of, timestamp, Column};

pub(super) fn columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new(
            "Ready",
            "string",
            "The aggregate readiness state of this pod for accepting traffic.",
        ),
        Column::new(
            "Status",
            "string",
            "The aggregate status of the containers in this pod.",
        ),
        Column::new(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
        ),
        Column::age(),
        Column::new("IP", "string", d::POD_IP).wide(),
        Column::new("Node", "string", d::POD_NODE).wide(),
        Column::new("Nominated Node", "string", d::POD_NOMINATED).wide(),
        Column::new("Readiness Gates", "string", d::POD_READINESS_GATES).wide(),
    ]
}

/// Latest restart seen so far: unset timestamps never win, like Go's
/// zero `metav1.Time`.
fn later(current: Option<i64>, status: &Value) -> Option<i64> {
    match timestamp(get(status, &["lastState", "terminated", "finishedAt"])) {
        Some(t) if current.is_none_or(|c| c < t) => Some(t),
        _ => current,
    }
}

fn has_condition(status: &Value, type_: &str) -> bool {
    arr_at(status, &["conditions"])
        .iter()
        .any(|c| str_at(c, &["type"]) == type_ && str_at(c, &["status"]) == "True")
}

/// `isPodInitializedConditionTrue`: the first Initialized condition decides.
fn initialized(status: &Value) -> bool {
    arr_at(status, &["conditions"])
        .iter()
        .find(|c| str_at(c, &["type"]) == "Initialized")
        .is_some_and(|c| str_at(c, &["status"]) == "True")
}

/// `Signal:N` when the container was killed by a signal, else `ExitCode:N`.
fn exit_reason(terminated: &Value) -> String {
    match int_at(terminated, &["signal"]) {
        0 => format!("ExitCode:{}", int_at(terminated, &["exitCode"])),
        signal => format!("Signal:{signal}"),
    }
}

pub(super) fn cells(pod: &Value, now: i64) -> Vec<Value> {
    let empty = Value::Null;
    let spec = get(pod, &["spec"]).unwrap_or(&empty);
    let status = get(pod, &["status"]).unwrap_or(&empty);

    let phase = str_at(status, &["phase"]);
    let mut reason = match str_at(status, &["reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    if arr_at(status, &["conditions"]).iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated".to_string();
    }

    let init_specs = arr_at(spec, &["initContainers"]);
    // Sidecars (init containers with restartPolicy Always) count as containers.
    let sidecar = |name: &str| {
        init_specs
            .iter()
            .find(|c| str_at(c, &["name"]) == name)
            .is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
    };
    let mut total = arr_at(spec, &["containers"]).len();
    total += init_specs
        .iter()
        .filter(|c| str_at(c, &["restartPolicy"]) == "Always")
        .count();

    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<i64> = None;
    let mut last_sidecar_restart: Option<i64> = None;
    let mut initializing = false;

    for (i, c) in arr_at(status, &["initContainerStatuses"])
        .iter()
        .enumerate()
    {
        restarts += int_at(c, &["restartCount"]);
        last_restart = later(last_restart, c);
        let is_sidecar = sidecar(str_at(c, &["name"]));
        if is_sidecar {
            sidecar_restarts += int_at(c, &["restartCount"]);
            last_sidecar_restart = later(last_sidecar_restart, c);
        }
        let terminated = get(c, &["state", "terminated"]);
        let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
        match terminated {
            Some(t) if int_at(t, &["exitCode"]) == 0 => continue,
            _ if is_sidecar && bool_at(c, &["started"]) => {
                if bool_at(c, &["ready"]) {
                    ready += 1;
                }
                continue;
            }
            Some(t) => {
                reason = match str_at(t, &["reason"]) {
                    "" => format!("Init:{}", exit_reason(t)),
                    r => format!("Init:{r}"),
                };
            }
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                reason = format!("Init:{waiting_reason}");
            }
            None => reason = format!("Init:{i}/{}", init_specs.len()),
        }
        initializing = true;
        break;
    }

    if !initializing || initialized(status) {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for c in arr_at(status, &["containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            last_restart = later(last_restart, c);
            let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
            let terminated = get(c, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = match str_at(t, &["reason"]) {
                    "" => exit_reason(t),
                    r => r.to_string(),
                };
            } else if bool_at(c, &["ready"]) && get(c, &["state", "running"]).is_some() {
                has_running = true;
                ready += 1;
            }
        }
        // A completed container next to a running one does not make the pod Completed.
        if reason == "Completed" && has_running {
            reason = if has_condition(status, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    if get(pod, &["metadata", "deletionTimestamp"]).is_some() {
        if str_at(status, &["reason"]) == "NodeLost" {
            reason = "Unknown".to_string();
        } else if phase != "Succeeded" && phase != "Failed" {
            reason = "Terminating".to_string();
        }
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_duration(now - t)),
        _ => restarts.to_string(),
    };

    let or_none = |s: &str| {
        if s.is_empty() {
            "<none>".to_string()
        } else {
            s.to_string()
        }
    };
    let pod_ip = arr_at(status, &["podIPs"])
        .first()
        .map(|ip| str_at(ip, &["ip"]))
        .unwrap_or_else(|| str_at(status, &["podIP"]));
    let gates = arr_at(spec, &["readinessGates"]);
    let readiness_gates = if gates.is_empty() {
        "<none>".to_string()
    } else {
        let conditions = arr_at(status, &["conditions"]);
        let passing = gates
            .iter()
            .filter(|g| {
                let wanted = str_at(g, &["conditionType"]);
                conditions
                    .iter()
                    .find(|c| str_at(c, &["type"]) == wanted)
                    .is_some_and(|c| str_at(c, &["status"]) == "True")
            })
            .count();
        format!("{passing}/{}", gates.len())
    };

    vec![
        name_of(pod).into(),
        format!("{ready}/{total}").into(),
        reason.into(),
        restarts_cell.into(),
        age(pod, now).into(),
        or_none(pod_ip).into(),
        or_none(str_at(spec, &["nodeName"])).into(),
        or_none(str_at(status, &["nominatedNodeName"])).into(),
        readiness_gates.into(),
    ]
}
