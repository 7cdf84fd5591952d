//! Column sets and cells for built-in kinds, following
//! pkg/printers/internalversion/printers.go (wide form).

use serde_json::{json, Value};

use super::descriptions as d;
use super::format::{
    arr_at, as_int, bool_at, container_cells, format_label_selector, format_labels, get, int_at,
    int_or, join_host_port, len_at, list_with_more, obj_at, selector_string, str_at,
};
use super::{age, name_of, pod, since, Column};

/// Columns and cells of one kind.
pub(super) struct Printer {
    pub(super) columns: ColumnsFn,
    pub(super) cells: CellsFn,
}

type ColumnsFn = fn() -> Vec<Column>;
type CellsFn = fn(&Value, i64) -> Vec<Value>;

const TEMPLATE_NAMES: &str = "Names of each container in the template.";
const TEMPLATE_IMAGES: &str = "Images referenced by each container in the template.";

pub(super) fn printer(group: &str, kind: &str) -> Option<Printer> {
    let (columns, cells): (ColumnsFn, CellsFn) = match (group, kind) {
        ("", "Pod") => (pod::columns, pod::cells),
        ("", "PodTemplate") => (pod_template_columns, pod_template_cells),
        ("", "ReplicationController") => (rc_columns, rc_cells),
        ("", "Service") => (service_columns, service_cells),
        ("", "Endpoints") => (endpoints_columns, endpoints_cells),
        ("", "Node") => (node_columns, node_cells),
        ("", "Event") => (event_columns, event_cells),
        ("events.k8s.io", "Event") => (event_columns, events_v1_cells),
        ("", "Namespace") => (namespace_columns, namespace_cells),
        ("", "Secret") => (secret_columns, secret_cells),
        ("", "ServiceAccount") => (service_account_columns, service_account_cells),
        ("", "ConfigMap") => (config_map_columns, config_map_cells),
        ("apps", "Deployment") => (deployment_columns, deployment_cells),
        ("apps", "ReplicaSet") => (replica_set_columns, replica_set_cells),
        ("apps", "StatefulSet") => (stateful_set_columns, stateful_set_cells),
        ("apps", "DaemonSet") => (daemon_set_columns, daemon_set_cells),
        ("batch", "Job") => (job_columns, job_cells),
        ("batch", "CronJob") => (cron_job_columns, cron_job_cells),
        ("autoscaling", "Scale") => (scale_columns, scale_cells),
        ("discovery.k8s.io", "EndpointSlice") => (endpoint_slice_columns, endpoint_slice_cells),
        ("coordination.k8s.io", "Lease") => (lease_columns, lease_cells),
        _ => return None,
    };
    Some(Printer { columns, cells })
}

fn template_containers(obj: &Value) -> (String, String) {
    container_cells(arr_at(obj, &["spec", "template", "spec", "containers"]))
}

// === PodTemplate, ReplicationController ===

fn pod_template_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Containers", "string", TEMPLATE_NAMES),
        Column::new("Images", "string", TEMPLATE_IMAGES),
        Column::new("Pod Labels", "string", "The labels for the pod template."),
    ]
}

fn pod_template_cells(obj: &Value, _now: i64) -> Vec<Value> {
    let (names, images) = container_cells(arr_at(obj, &["template", "spec", "containers"]));
    let labels = format_labels(obj_at(obj, &["template", "metadata", "labels"]));
    vec![
        name_of(obj).into(),
        names.into(),
        images.into(),
        labels.into(),
    ]
}

fn rc_columns() -> Vec<Column> {
    replica_columns([
        d::RC_SPEC_REPLICAS,
        d::RC_STATUS_REPLICAS,
        d::RC_READY,
        d::RC_SELECTOR,
    ])
}

fn rc_cells(obj: &Value, now: i64) -> Vec<Value> {
    replica_cells(obj, now, format_labels(obj_at(obj, &["spec", "selector"])))
}

/// ReplicationController and ReplicaSet print the same columns; only the
/// descriptions (desired, current, ready, selector) and the selector's type
/// differ.
fn replica_columns(descriptions: [&str; 4]) -> Vec<Column> {
    let [desired, current, ready, selector] = descriptions;
    vec![
        Column::name(),
        Column::new("Desired", "integer", desired),
        Column::new("Current", "integer", current),
        Column::new("Ready", "integer", ready),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
        Column::new("Selector", "string", selector).wide(),
    ]
}

fn replica_cells(obj: &Value, now: i64, selector: String) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name_of(obj).into(),
        int_or(obj, &["spec", "replicas"], 1).into(),
        int_at(obj, &["status", "replicas"]).into(),
        int_at(obj, &["status", "readyReplicas"]).into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
        selector.into(),
    ]
}

// === Service ===

fn service_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Type", "string", d::SVC_TYPE),
        Column::new("Cluster-IP", "string", d::SVC_CLUSTER_IP),
        Column::new("External-IP", "string", d::SVC_EXTERNAL_IPS),
        Column::new("Port(s)", "string", d::SVC_PORTS),
        Column::age(),
        Column::new("Selector", "string", d::SVC_SELECTOR).wide(),
    ]
}

fn service_cells(obj: &Value, now: i64) -> Vec<Value> {
    // An unset type reads as ClusterIP and an unset clusterIPs as [clusterIP],
    // which is what v1 defaulting hands the printer upstream.
    let svc_type = match str_at(obj, &["spec", "type"]) {
        "" => "ClusterIP",
        t => t,
    };
    let cluster_ip = arr_at(obj, &["spec", "clusterIPs"])
        .first()
        .and_then(Value::as_str)
        .or_else(|| get(obj, &["spec", "clusterIP"]).and_then(Value::as_str))
        .filter(|ip| !ip.is_empty())
        .unwrap_or("<none>");
    let ports: Vec<String> = arr_at(obj, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = int_at(p, &["port"]);
            let protocol = match str_at(p, &["protocol"]) {
                "" => "TCP",
                proto => proto,
            };
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect();
    let ports = if ports.is_empty() {
        "<none>".to_string()
    } else {
        ports.join(",")
    };
    vec![
        name_of(obj).into(),
        svc_type.into(),
        cluster_ip.into(),
        service_external_ip(obj, svc_type).into(),
        ports.into(),
        age(obj, now).into(),
        format_labels(obj_at(obj, &["spec", "selector"])).into(),
    ]
}

/// `getServiceExternalIP` in its wide form (no truncation).
fn service_external_ip(obj: &Value, svc_type: &str) -> String {
    let external: Vec<&str> = arr_at(obj, &["spec", "externalIPs"])
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match svc_type {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            // A sorted set of ingress IPs (or hostnames when no IP).
            let mut lb: Vec<&str> = arr_at(obj, &["status", "loadBalancer", "ingress"])
                .iter()
                .filter_map(
                    |ing| match (str_at(ing, &["ip"]), str_at(ing, &["hostname"])) {
                        ("", "") => None,
                        ("", host) => Some(host),
                        (ip, _) => Some(ip),
                    },
                )
                .collect();
            lb.sort_unstable();
            lb.dedup();
            if !external.is_empty() {
                lb.extend(external);
                return lb.join(",");
            }
            if lb.is_empty() {
                "<pending>".to_string()
            } else {
                lb.join(",")
            }
        }
        "ExternalName" => str_at(obj, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

// === Endpoints, EndpointSlice ===

fn endpoints_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Endpoints", "string", d::EP_SUBSETS),
        Column::age(),
    ]
}

fn endpoints_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        format_endpoints(obj).into(),
        age(obj, now).into(),
    ]
}

/// `formatEndpoints` with all ports: at most three `ip:port` entries.
fn format_endpoints(obj: &Value) -> String {
    const MAX: usize = 3;
    let subsets = arr_at(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addresses = arr_at(ss, &["addresses"]);
        let ports = arr_at(ss, &["ports"]);
        // Headless services may have addresses without ports.
        let port_numbers: Vec<Option<i64>> = if ports.is_empty() {
            vec![None]
        } else {
            ports.iter().map(|p| Some(int_at(p, &["port"]))).collect()
        };
        for port in port_numbers {
            count += addresses.len();
            for addr in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                let ip = str_at(addr, &["ip"]);
                list.push(match port {
                    Some(p) => join_host_port(ip, p),
                    None => ip.to_string(),
                });
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - MAX)
    } else {
        ret
    }
}

fn endpoint_slice_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("AddressType", "string", d::ES_ADDRESS_TYPE),
        Column::new("Ports", "string", d::ES_PORTS),
        Column::new("Endpoints", "string", d::ES_ENDPOINTS),
        Column::age(),
    ]
}

fn endpoint_slice_cells(obj: &Value, now: i64) -> Vec<Value> {
    const MAX: usize = 3;
    let ports = arr_at(obj, &["ports"]);
    let port_list: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(
            |p| match (get(p, &["port"]), get(p, &["name"]).and_then(Value::as_str)) {
                (Some(port), _) => as_int(port).to_string(),
                (None, Some(name)) => name.to_string(),
                (None, None) => "*".to_string(),
            },
        )
        .collect();
    let addresses: Vec<&str> = arr_at(obj, &["endpoints"])
        .iter()
        .flat_map(|e| arr_at(e, &["addresses"]))
        .filter_map(Value::as_str)
        .collect();
    let addr_list: Vec<String> = addresses.iter().take(MAX).map(|a| a.to_string()).collect();
    vec![
        name_of(obj).into(),
        str_at(obj, &["addressType"]).into(),
        list_with_more(&port_list, ports.len(), MAX).into(),
        list_with_more(&addr_list, addresses.len(), MAX).into(),
        age(obj, now).into(),
    ]
}

// === Node ===

fn node_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Status", "string", "The status of the node"),
        Column::new("Roles", "string", "The roles of the node"),
        Column::age(),
        Column::new("Version", "string", d::NODE_KUBELET),
        Column::new("Internal-IP", "string", d::NODE_ADDRESSES).wide(),
        Column::new("External-IP", "string", d::NODE_ADDRESSES).wide(),
        Column::new("OS-Image", "string", d::NODE_OS_IMAGE).wide(),
        Column::new("Kernel-Version", "string", d::NODE_KERNEL).wide(),
        Column::new("Container-Runtime", "string", d::NODE_RUNTIME).wide(),
    ]
}

fn node_cells(obj: &Value, now: i64) -> Vec<Value> {
    // Only the Ready condition counts; the last one of that type wins.
    let ready = arr_at(obj, &["status", "conditions"])
        .iter()
        .rfind(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if bool_at(obj, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    let roles = node_roles(obj);
    let roles = if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    };
    let address = |kind: &str| {
        arr_at(obj, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == kind)
            .map_or("<none>", |a| str_at(a, &["address"]))
            .to_string()
    };
    let info = |field: &str| match str_at(obj, &["status", "nodeInfo", field]) {
        "" => "<unknown>".to_string(),
        s => s.to_string(),
    };
    vec![
        name_of(obj).into(),
        status.join(",").into(),
        roles.into(),
        age(obj, now).into(),
        str_at(obj, &["status", "nodeInfo", "kubeletVersion"]).into(),
        address("InternalIP").into(),
        address("ExternalIP").into(),
        info("osImage").into(),
        info("kernelVersion").into(),
        info("containerRuntimeVersion").into(),
    ]
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and the value of
/// `kubernetes.io/role`, sorted and deduplicated.
fn node_roles(obj: &Value) -> Vec<String> {
    let mut roles: Vec<String> = obj_at(obj, &["metadata", "labels"])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                return (!role.is_empty()).then(|| role.to_string());
            }
            let v = v.as_str().unwrap_or("");
            (k == "kubernetes.io/role" && !v.is_empty()).then(|| v.to_string())
        })
        .collect();
    roles.sort();
    roles.dedup();
    roles
}

// === Event ===

fn event_columns() -> Vec<Column> {
    vec![
        Column::new("Last Seen", "string", d::EV_LAST),
        Column::new("Type", "string", d::EV_TYPE),
        Column::new("Reason", "string", d::EV_REASON),
        Column::new("Object", "string", d::EV_INVOLVED),
        Column::new("Subobject", "string", d::EV_FIELD_PATH).wide(),
        Column::new("Source", "string", d::EV_SOURCE).wide(),
        Column::new("Message", "string", d::EV_MESSAGE),
        Column::new("First Seen", "string", d::EV_FIRST).wide(),
        Column::new("Count", "string", d::EV_COUNT).wide(),
        Column::name().wide(),
    ]
}

fn event_cells(obj: &Value, now: i64) -> Vec<Value> {
    let first = match get(obj, &["firstTimestamp"]) {
        ts if super::timestamp(ts).is_some() => since(ts, now),
        _ => since(get(obj, &["eventTime"]), now),
    };
    let mut last = match get(obj, &["lastTimestamp"]) {
        ts if super::timestamp(ts).is_some() => since(ts, now),
        _ => first.clone(),
    };
    let mut count = int_at(obj, &["count"]);
    if let Some(series) = get(obj, &["series"]) {
        last = since(get(series, &["lastObservedTime"]), now);
        count = int_at(series, &["count"]);
    } else if count == 0 {
        // Singleton events of the new API carry no count.
        count = 1;
    }
    let kind = str_at(obj, &["involvedObject", "kind"]).to_lowercase();
    let target = match str_at(obj, &["involvedObject", "name"]) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    let component = first_non_empty(
        str_at(obj, &["source", "component"]),
        str_at(obj, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(obj, &["source", "host"]),
        str_at(obj, &["reportingInstance"]),
    );
    let source = if instance.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {instance}")
    };
    vec![
        last.into(),
        str_at(obj, &["type"]).into(),
        str_at(obj, &["reason"]).into(),
        target.into(),
        str_at(obj, &["involvedObject", "fieldPath"]).into(),
        source.into(),
        str_at(obj, &["message"]).trim().into(),
        first.into(),
        count.into(),
        name_of(obj).into(),
    ]
}

fn first_non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// events.k8s.io/v1 Events print through the core printer after conversion;
/// map the renamed fields back to their core/v1 names.
fn events_v1_cells(obj: &Value, now: i64) -> Vec<Value> {
    let pick = |name: &str| get(obj, &[name]).cloned().unwrap_or(Value::Null);
    let core = json!({
        "metadata": pick("metadata"),
        "involvedObject": pick("regarding"),
        "reason": pick("reason"),
        "message": pick("note"),
        "source": pick("deprecatedSource"),
        "firstTimestamp": pick("deprecatedFirstTimestamp"),
        "lastTimestamp": pick("deprecatedLastTimestamp"),
        "count": pick("deprecatedCount"),
        "type": pick("type"),
        "eventTime": pick("eventTime"),
        "series": pick("series"),
        "reportingComponent": pick("reportingController"),
        "reportingInstance": pick("reportingInstance"),
    });
    event_cells(&core, now)
}

// === Namespace, Secret, ServiceAccount, ConfigMap, Lease ===

fn namespace_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Status", "string", "The status of the namespace"),
        Column::age(),
    ]
}

fn namespace_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        str_at(obj, &["status", "phase"]).into(),
        age(obj, now).into(),
    ]
}

fn secret_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Type", "string", d::SECRET_TYPE),
        Column::new("Data", "string", d::SECRET_DATA),
        Column::age(),
    ]
}

fn secret_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        str_at(obj, &["type"]).into(),
        len_at(obj, &["data"]).into(),
        age(obj, now).into(),
    ]
}

fn service_account_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Secrets", "string", d::SA_SECRETS),
        Column::age(),
    ]
}

fn service_account_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        (arr_at(obj, &["secrets"]).len() as i64).into(),
        age(obj, now).into(),
    ]
}

fn config_map_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Data", "string", d::CM_DATA),
        Column::age(),
    ]
}

fn config_map_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        (len_at(obj, &["data"]) + len_at(obj, &["binaryData"])).into(),
        age(obj, now).into(),
    ]
}

fn lease_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Holder", "string", d::LEASE_HOLDER),
        Column::age(),
    ]
}

fn lease_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        str_at(obj, &["spec", "holderIdentity"]).into(),
        age(obj, now).into(),
    ]
}

// === Deployment, ReplicaSet, StatefulSet, DaemonSet ===

/// The Ready column of Deployments and StatefulSets: `ready/desired`.
fn ready_of_desired(obj: &Value) -> String {
    format!(
        "{}/{}",
        int_at(obj, &["status", "readyReplicas"]),
        int_or(obj, &["spec", "replicas"], 1)
    )
}

fn deployment_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Ready", "string", "Number of the pod with ready state"),
        Column::new("Up-to-date", "string", d::DEP_UPDATED),
        Column::new("Available", "string", d::DEP_AVAILABLE),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
        Column::new("Selector", "string", d::DEP_SELECTOR).wide(),
    ]
}

fn deployment_cells(obj: &Value, now: i64) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    let selector = selector_string(get(obj, &["spec", "selector"]))
        .unwrap_or_else(|()| "<invalid>".to_string());
    vec![
        name_of(obj).into(),
        ready_of_desired(obj).into(),
        int_at(obj, &["status", "updatedReplicas"]).into(),
        int_at(obj, &["status", "availableReplicas"]).into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
        selector.into(),
    ]
}

fn replica_set_columns() -> Vec<Column> {
    replica_columns([
        d::RS_SPEC_REPLICAS,
        d::RS_STATUS_REPLICAS,
        d::RS_READY,
        d::RS_SELECTOR,
    ])
}

fn replica_set_cells(obj: &Value, now: i64) -> Vec<Value> {
    let selector = format_label_selector(get(obj, &["spec", "selector"]));
    replica_cells(obj, now, selector)
}

fn stateful_set_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Ready", "string", "Number of the pod with ready state"),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
    ]
}

fn stateful_set_cells(obj: &Value, now: i64) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name_of(obj).into(),
        ready_of_desired(obj).into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
    ]
}

fn daemon_set_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Desired", "integer", d::DS_DESIRED),
        Column::new("Current", "integer", d::DS_CURRENT),
        Column::new("Ready", "integer", d::DS_READY),
        Column::new("Up-to-date", "integer", d::DS_UPDATED),
        Column::new("Available", "integer", d::DS_AVAILABLE),
        Column::new("Node Selector", "string", d::POD_NODE_SELECTOR),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
        Column::new("Selector", "string", d::DS_SELECTOR).wide(),
    ]
}

fn daemon_set_cells(obj: &Value, now: i64) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    let status = |field: &str| Value::from(int_at(obj, &["status", field]));
    vec![
        name_of(obj).into(),
        status("desiredNumberScheduled"),
        status("currentNumberScheduled"),
        status("numberReady"),
        status("updatedNumberScheduled"),
        status("numberAvailable"),
        format_labels(obj_at(obj, &["spec", "template", "spec", "nodeSelector"])).into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
        format_label_selector(get(obj, &["spec", "selector"])).into(),
    ]
}

// === Job, CronJob ===

fn job_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Status", "string", "Status of the job."),
        Column::new("Completions", "string", d::JOB_SUCCEEDED),
        Column::new("Duration", "string", "Time required to complete the job."),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
        Column::new("Selector", "string", d::JOB_SELECTOR).wide(),
    ]
}

fn job_cells(obj: &Value, now: i64) -> Vec<Value> {
    let succeeded = int_at(obj, &["status", "succeeded"]);
    let completions = match get(obj, &["spec", "completions"]) {
        Some(c) => format!("{succeeded}/{}", as_int(c)),
        None => match int_at(obj, &["spec", "parallelism"]) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = super::timestamp(get(obj, &["status", "startTime"]));
    let completion = super::timestamp(get(obj, &["status", "completionTime"]));
    let duration = match (start, completion) {
        (None, _) => String::new(),
        (Some(s), None) => super::human_duration(now - s),
        (Some(s), Some(c)) => super::human_duration(c - s),
    };
    let condition = |t: &str| {
        arr_at(obj, &["status", "conditions"])
            .iter()
            .find(|c| str_at(c, &["type"]) == t)
            .is_some_and(|c| str_at(c, &["status"]) == "True")
    };
    let status = if condition("Complete") {
        "Complete"
    } else if condition("Failed") {
        "Failed"
    } else if get(obj, &["metadata", "deletionTimestamp"]).is_some() {
        "Terminating"
    } else if condition("Suspended") {
        "Suspended"
    } else if condition("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = template_containers(obj);
    vec![
        name_of(obj).into(),
        status.into(),
        completions.into(),
        duration.into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
        format_label_selector(get(obj, &["spec", "selector"])).into(),
    ]
}

fn cron_job_columns() -> Vec<Column> {
    vec![
        Column::name(),
        Column::new("Schedule", "string", d::CJ_SCHEDULE),
        Column::new("Timezone", "string", d::CJ_TZ),
        Column::new("Suspend", "boolean", d::CJ_SUSPEND),
        Column::new("Active", "integer", d::CJ_ACTIVE),
        Column::new("Last Schedule", "string", d::CJ_LAST),
        Column::age(),
        Column::new("Containers", "string", TEMPLATE_NAMES).wide(),
        Column::new("Images", "string", TEMPLATE_IMAGES).wide(),
        Column::new("Selector", "string", d::JOB_SELECTOR).wide(),
    ]
}

fn cron_job_cells(obj: &Value, now: i64) -> Vec<Value> {
    let last = match get(obj, &["status", "lastScheduleTime"]) {
        None => "<none>".to_string(),
        ts => since(ts, now),
    };
    let suspend = match get(obj, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        Some(false) => "False",
        None => "<unset>",
    };
    let job_spec = get(obj, &["spec", "jobTemplate", "spec"]).unwrap_or(&Value::Null);
    let (names, images) = container_cells(arr_at(job_spec, &["template", "spec", "containers"]));
    vec![
        name_of(obj).into(),
        str_at(obj, &["spec", "schedule"]).into(),
        get(obj, &["spec", "timeZone"])
            .and_then(Value::as_str)
            .unwrap_or("<none>")
            .into(),
        suspend.into(),
        (arr_at(obj, &["status", "active"]).len() as i64).into(),
        last.into(),
        age(obj, now).into(),
        names.into(),
        images.into(),
        format_label_selector(get(job_spec, &["selector"])).into(),
    ]
}

// === Scale ===

fn scale_columns() -> Vec<Column> {
    // Upstream leaves the `name` format off this one Name column.
    vec![
        Column::new("Name", "string", d::META_NAME),
        Column::new("Desired", "integer", d::SCALE_SPEC),
        Column::new("Available", "integer", d::SCALE_STATUS),
        Column::age(),
    ]
}

fn scale_cells(obj: &Value, now: i64) -> Vec<Value> {
    vec![
        name_of(obj).into(),
        int_at(obj, &["spec", "replicas"]).into(),
        int_at(obj, &["status", "replicas"]).into(),
        age(obj, now).into(),
    ]
}
