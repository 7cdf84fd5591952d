//! `/version`, API discovery (aggregated v2 and legacy) and OpenAPI v3.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Response};
use serde_json::{json, Value};

use api::registry::Resource;

use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_response};
use crate::ApiState;

/// kubectl's dispatcher runs the kubectl matching the server's minor version,
/// so this must stay a version with a full kubectl on the machine (1.32).
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-slipway",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-23T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn wants_aggregated(headers: &HeaderMap) -> bool {
    http::accept(headers).split(',').any(|p| {
        p.contains("as=APIGroupDiscoveryList") && p.contains("v=v2") && !p.contains("v=v2beta1")
    })
}

/// Serve discovery and OpenAPI paths; `None` when `path` is not one of them.
pub fn serve(
    state: &ApiState,
    path: &str,
    headers: &HeaderMap,
) -> Option<ApiResult<Response<Body>>> {
    let resources = state.registry.all();
    let path = path.trim_end_matches('/');
    let r = match path {
        "/api" if wants_aggregated(headers) => aggregated(&resources, true),
        "/apis" if wants_aggregated(headers) => aggregated(&resources, false),
        "/api" => Ok(json_response(
            200,
            &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": state.advertise}]}),
        )),
        "/apis" => Ok(json_response(200, &group_list(&resources))),
        "/openapi/v3" => Ok(json_response(200, &api::openapi::v3_index(&resources))),
        "/openapi/v2" => Err(ApiError::no_route()),
        p if p.starts_with("/openapi/v3/") => {
            let gv = &p["/openapi/v3/".len()..];
            let (group, version) = match gv.split('/').collect::<Vec<_>>().as_slice() {
                ["api", v] => (String::new(), v.to_string()),
                ["apis", g, v] => (g.to_string(), v.to_string()),
                _ => return Some(Err(ApiError::no_route())),
            };
            let custom = state.registry.custom_schemas(&group, &version);
            match api::openapi::v3_document(&group, &version, &resources, &custom) {
                Some(doc) => Ok(json_response(200, &doc)),
                None => Err(ApiError::no_route()),
            }
        }
        "/api/v1" => Ok(json_response(200, &resource_list("", "v1", &resources))),
        p if p.starts_with("/apis/") => {
            let parts: Vec<&str> = p["/apis/".len()..].split('/').collect();
            match parts.as_slice() {
                [g] => match groups(&resources).get(*g) {
                    Some(versions) => Ok(json_response(200, &group_json(g, versions))),
                    None => Err(ApiError::no_route()),
                },
                [g, v] if resources.iter().any(|r| r.group == *g && r.version == *v) => {
                    Ok(json_response(200, &resource_list(g, v, &resources)))
                }
                [_, _] => Err(ApiError::no_route()),
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(r)
}

/// group → versions (in registration order, first preferred).
fn groups(resources: &[Resource]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        let v = out.entry(r.group.clone()).or_default();
        if !v.contains(&r.version) {
            v.push(r.version.clone());
        }
    }
    out
}

fn group_json(g: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": g, "versions": vs, "preferredVersion": vs.first().cloned().unwrap_or(Value::Null)})
}

fn group_list(resources: &[Resource]) -> Value {
    let gs: Vec<Value> = groups(resources)
        .iter()
        .map(|(g, vs)| group_json(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs})
}

fn sub_kind(r: &Resource, sub: &str) -> (String, String, String) {
    match sub {
        "scale" => ("autoscaling".into(), "v1".into(), "Scale".into()),
        "binding" => (String::new(), "v1".into(), "Binding".into()),
        "log" => (String::new(), "v1".into(), "Pod".into()),
        _ => (r.group.clone(), r.version.clone(), r.kind.clone()),
    }
}

fn sub_verbs(sub: &str) -> Vec<&'static str> {
    match sub {
        "binding" => vec!["create"],
        "log" => vec!["get"],
        "finalize" => vec!["update"],
        _ => vec!["get", "patch", "update"],
    }
}

fn resource_list(group: &str, version: &str, resources: &[Resource]) -> Value {
    let mut list = Vec::new();
    for r in resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut e = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced(),
            "kind": r.kind, "verbs": r.verbs(),
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        list.push(e);
        for s in &r.subresources {
            let (g, v, k) = sub_kind(r, s);
            let mut e = json!({"name": format!("{}/{s}", r.plural), "singularName": "", "namespaced": r.namespaced(), "kind": k, "verbs": sub_verbs(s)});
            if s == "scale" {
                e["group"] = json!(g);
                e["version"] = json!(v);
            }
            list.push(e);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
}

fn aggregated(resources: &[Resource], core: bool) -> ApiResult<Response<Body>> {
    let mut by_group: BTreeMap<String, BTreeMap<String, Vec<Value>>> = BTreeMap::new();
    for r in resources.iter().filter(|r| r.group.is_empty() == core) {
        let mut subs = Vec::new();
        for s in &r.subresources {
            let (g, v, k) = sub_kind(r, s);
            subs.push(json!({"subresource": s, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": sub_verbs(s)}));
        }
        let mut e = json!({
            "resource": r.plural,
            "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
            "scope": if r.namespaced() { "Namespaced" } else { "Cluster" },
            "singularResource": r.singular,
            "verbs": r.verbs(),
        });
        if !r.short_names.is_empty() {
            e["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            e["categories"] = json!(r.categories);
        }
        if !subs.is_empty() {
            e["subresources"] = json!(subs);
        }
        by_group
            .entry(r.group.clone())
            .or_default()
            .entry(r.version.clone())
            .or_default()
            .push(e);
    }
    let items: Vec<Value> = by_group
        .into_iter()
        .map(|(g, versions)| {
            let vs: Vec<Value> = versions
                .into_iter()
                .map(|(v, rs)| json!({"version": v, "resources": rs, "freshness": "Current"}))
                .collect();
            json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": vs})
        })
        .collect();
    let doc = json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items});
    let mut resp = json_response(200, &doc);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static(AGGREGATED));
    Ok(resp)
}
