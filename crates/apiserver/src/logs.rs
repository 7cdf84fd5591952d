//! `pods/<name>/log`: find the pod's node and stream from the node agent's
//! log server, as kube-apiserver proxies to the kubelet.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::handlers::load;
use crate::http::Query;
use crate::resources::{object_key, Target};
use crate::{objects, ApiState};

const PASS_THROUGH: &[&str] = &[
    "follow",
    "tailLines",
    "sinceSeconds",
    "sinceTime",
    "timestamps",
    "previous",
    "limitBytes",
];

/// The container a log request means: the named one, the
/// `kubectl.kubernetes.io/default-container` annotation, or the only one.
fn pick_container(pod: &Value, requested: Option<&str>) -> ApiResult<String> {
    let name = objects::name(pod).unwrap_or("");
    let mut all: Vec<&str> = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in pod
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = c.get("name").and_then(Value::as_str) {
                all.push(n);
            }
        }
    }
    if let Some(r) = requested {
        if all.contains(&r) {
            return Ok(r.to_string());
        }
        return Err(ApiError::bad_request(format!(
            "container {r} is not valid for pod {name}"
        )));
    }
    if let Some(d) = pod
        .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
        .and_then(Value::as_str)
    {
        return Ok(d.to_string());
    }
    let main: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    match main.as_slice() {
        [one] => Ok(one.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            main.join(" ")
        ))),
    }
}

/// Has the container ever started? If not, explain why, as upstream does.
fn waiting_reason(pod: &Value, container: &str) -> Option<String> {
    for list in ["initContainerStatuses", "containerStatuses"] {
        for st in pod
            .pointer(&format!("/status/{list}"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if st.get("name").and_then(Value::as_str) != Some(container) {
                continue;
            }
            let ran = st.pointer("/state/running").is_some()
                || st.pointer("/state/terminated").is_some()
                || st.pointer("/lastState/terminated").is_some();
            if ran {
                return None;
            }
            let reason = st
                .pointer("/state/waiting/reason")
                .and_then(Value::as_str)
                .unwrap_or("ContainerCreating");
            return Some(reason.to_string());
        }
    }
    Some("ContainerCreating".to_string())
}

pub async fn serve(state: &Arc<ApiState>, t: &Target, q: &Query) -> ApiResult<Response<Body>> {
    let pod_target = Target {
        subresource: None,
        ..t.clone()
    };
    let (_, pod) = load(state, &pod_target)?;
    let pod_name = objects::name(&pod).unwrap_or("").to_string();
    let ns = objects::meta_str(&pod, "namespace")
        .unwrap_or("")
        .to_string();
    let container = pick_container(&pod, q.get("container"))?;
    let node = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if node.is_empty() {
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: ContainerCreating"
        )));
    }
    if !q.flag("previous") {
        if let Some(reason) = waiting_reason(&pod, &container) {
            return Err(ApiError::bad_request(format!(
                "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
            )));
        }
    }
    let node_res = state
        .registry
        .find("", "v1", "nodes")
        .ok_or_else(|| ApiError::internal("nodes not served"))?;
    let node_obj = state
        .store
        .get(&object_key(&node_res, None, node))
        .and_then(|e| serde_json::from_slice::<Value>(&e.value).ok())
        .ok_or_else(|| {
            ApiError::internal(format!("node {node} of pod {pod_name} is not registered"))
        })?;
    let port = node_obj
        .pointer("/status/daemonEndpoints/kubeletEndpoint/Port")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let addr = node_obj
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|x| x["type"] == "InternalIP"))
        .and_then(|x| x["address"].as_str())
        .unwrap_or("127.0.0.1")
        .to_string();
    if port == 0 {
        return Err(ApiError::internal(format!(
            "node {node} does not serve logs"
        )));
    }
    let mut query: Vec<String> = Vec::new();
    for k in PASS_THROUGH {
        if let Some(v) = q.get(k) {
            query.push(format!("{k}={v}"));
        }
    }
    let url = format!(
        "http://{addr}:{port}/containerLogs/{ns}/{pod_name}/{container}?{}",
        query.join("&")
    );
    let req = hyper::Request::get(&url)
        .header("authorization", format!("Bearer {}", state.token))
        .body(http_body_util::Empty::<bytes_compat::Bytes>::new())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let resp = client
        .request(req)
        .await
        .map_err(|e| ApiError::internal(format!("contacting node {node}: {e}")))?;
    if !resp.status().is_success() {
        let code = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let msg = String::from_utf8_lossy(&body).trim().to_string();
        return Err(match code {
            StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST => ApiError::bad_request(msg),
            _ => ApiError::internal(msg),
        });
    }
    let mut out = Response::new(Body::new(resp.into_body()));
    out.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/plain"),
    );
    Ok(out)
}

/// hyper's body types name `bytes::Bytes`; axum re-exports it.
mod bytes_compat {
    pub use axum::body::Bytes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn container_choice() {
        let one = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert_eq!(pick_container(&one, None).ok().as_deref(), Some("a"));
        let two = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let err = pick_container(&two, None)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert_eq!(
            err,
            "a container name must be specified for pod p, choose one of: [a b]"
        );
        assert_eq!(pick_container(&two, Some("b")).ok().as_deref(), Some("b"));
        assert!(pick_container(&two, Some("c")).is_err());
        let annotated = json!({"metadata": {"name": "p", "annotations": {"kubectl.kubernetes.io/default-container": "b"}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(pick_container(&annotated, None).ok().as_deref(), Some("b"));
    }

    #[test]
    fn waiting() {
        let p = json!({"status": {"containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(waiting_reason(&p, "a").as_deref(), Some("ImagePullBackOff"));
        let r = json!({"status": {"containerStatuses": [{"name": "a", "state": {"running": {}}}]}});
        assert_eq!(waiting_reason(&r, "a"), None);
    }
}
