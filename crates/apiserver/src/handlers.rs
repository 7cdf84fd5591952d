//! Request dispatch and the verbs: get, list, create, update, patch, delete,
//! deletecollection, and the status / scale / binding subresources.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response};
use serde_json::{json, Value};

use api::registry::Resource;
use api::selector::{FieldSelector, LabelSelector};
use store::{Entry, Precondition, StoreError};

use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_response, Query};
use crate::objects::{self, meta_mut, meta_str};
use crate::resources::{collection_prefix, object_key, parse_path, ApiPath, Target};
use crate::{discovery, printing, services, watch, ApiState};

/// Internal retries of read-modify-write cycles that lost a race.
const MAX_RETRIES: usize = 16;

/// Entry point for every request.
pub async fn handle(state: Arc<ApiState>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = Query::parse(parts.uri.query());
    match route(&state, &parts.method, &path, &query, &parts.headers, body).await {
        Ok(r) => r,
        Err(e) => {
            use axum::response::IntoResponse;
            e.into_response()
        }
    }
}

fn authorized(state: &ApiState, headers: &HeaderMap) -> bool {
    let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    match v.strip_prefix("Bearer ") {
        Some(t) => constant_time_eq(t.trim().as_bytes(), state.token.as_bytes()),
        None => false,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn route(
    state: &Arc<ApiState>,
    method: &Method,
    path: &str,
    q: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response<Body>> {
    match path {
        "/version" | "/version/" => return Ok(json_response(200, &discovery::version())),
        "/healthz" | "/livez" | "/readyz" => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            return Ok(r);
        }
        _ => {}
    }
    if !authorized(state, headers) {
        return Err(ApiError::unauthorized());
    }
    if method == Method::GET {
        if let Some(r) = discovery::serve(state, path, headers) {
            return r;
        }
    }
    let target = match parse_path(&state.registry, path) {
        ApiPath::Resource(t) => *t,
        _ => return Err(ApiError::no_route()),
    };
    if let Some(ns) = &target.namespace {
        if ns.is_empty() {
            return Err(ApiError::bad_request("namespace is required"));
        }
    }
    let sub = target.subresource.as_deref();
    if let Some(s) = sub {
        if !target.resource.subresources.iter().any(|x| x == s) {
            return Err(ApiError::no_route());
        }
    }
    match (method.as_str(), target.name.is_some(), sub) {
        ("GET", false, None) if q.flag("watch") => {
            watch::serve(state.clone(), &target, q, headers).await
        }
        ("GET", false, None) => list(state, &target, q, headers),
        ("GET", true, None) | ("GET", true, Some("status")) => get(state, &target, headers),
        ("GET", true, Some("scale")) => get_scale(state, &target),
        ("GET", true, Some("log")) => crate::logs::serve(state, &target, q).await,
        ("POST", false, None) => {
            service_barrier(
                state,
                &target,
                create(state, &target, q, headers, body).await,
            )
            .await
        }
        ("POST", true, Some("binding")) => bind(state, &target, body).await,
        ("PUT", true, _) => {
            service_barrier(
                state,
                &target,
                update(state, &target, q, headers, body).await,
            )
            .await
        }
        ("PATCH", true, _) => {
            service_barrier(
                state,
                &target,
                patch(state, &target, q, headers, body).await,
            )
            .await
        }
        ("DELETE", true, None) => delete(state, &target, q, body).await,
        ("DELETE", false, None) => delete_collection(state, &target, q, body).await,
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// Hold the answer to a successful Service write until the installed
/// [`crate::WriteBarrier`] has seen it (its resourceVersion is read back
/// from the answer, which is small for a Service).
async fn service_barrier(
    state: &Arc<ApiState>,
    target: &Target,
    result: ApiResult<Response<Body>>,
) -> ApiResult<Response<Body>> {
    let Some(barrier) = state.write_barrier.get() else {
        return result;
    };
    let response = result?;
    if !target.resource.group.is_empty()
        || target.resource.plural != "services"
        || !response.status().is_success()
    {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return Err(ApiError::internal(format!("reading a response: {e}"))),
    };
    let rv = serde_json::from_slice::<Value>(&bytes).ok().and_then(|v| {
        v["metadata"]["resourceVersion"]
            .as_str()?
            .parse::<u64>()
            .ok()
    });
    if let Some(rv) = rv {
        barrier.service_written(rv).await;
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

// === reads ===

fn name_of(t: &Target) -> &str {
    t.name.as_deref().unwrap_or("")
}

fn key_of(t: &Target) -> String {
    object_key(&t.resource, t.namespace.as_deref(), name_of(t))
}

pub(crate) fn load(state: &ApiState, t: &Target) -> ApiResult<(Entry, Value)> {
    let Some(e) = state.store.get(&key_of(t)) else {
        return Err(ApiError::not_found(&t.resource, name_of(t)));
    };
    let v = with_type(&t.resource, objects::decode_stored(&e.value, e.rev)?);
    Ok((e, v))
}

/// Objects are stored with the apiVersion of the version that wrote them;
/// serve them as the requested version (versions of a kind share a schema here).
pub(crate) fn with_type(res: &Resource, mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), json!(res.api_version()));
        m.insert("kind".into(), json!(res.kind));
    }
    v
}

fn get(state: &ApiState, t: &Target, headers: &HeaderMap) -> ApiResult<Response<Body>> {
    if !http::wants_table(headers) && !t.resource.custom {
        let Some(e) = state.store.get(&key_of(t)) else {
            return Err(ApiError::not_found(&t.resource, name_of(t)));
        };
        if let Some(bytes) = objects::splice_rv(&e.value, e.rev) {
            return Ok(http::bytes_response(200, bytes));
        }
    }
    let (_, v) = load(state, t)?;
    if http::wants_table(headers) {
        let custom = custom_of(state, &t.resource);
        let rv = meta_str(&v, "resourceVersion").unwrap_or("").to_string();
        return Ok(json_response(
            200,
            &printing::table(
                &t.resource,
                custom.as_ref(),
                &[v],
                &rv,
                "",
                printing::IncludeObject::Metadata,
            ),
        ));
    }
    Ok(json_response(200, &v))
}

fn custom_of(state: &ApiState, res: &Resource) -> Option<api::crd::ServedVersion> {
    if res.custom {
        state.registry.custom(&res.group, &res.version, &res.plural)
    } else {
        None
    }
}

/// Parsed list filters.
pub(crate) struct Filters {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
}

impl Filters {
    pub fn parse(res: &Resource, q: &Query) -> ApiResult<Filters> {
        let labels =
            match q.get("labelSelector") {
                Some(s) => Some(LabelSelector::parse(s).map_err(|e| {
                    ApiError::bad_request(format!("unable to parse requirement: {e}"))
                })?),
                None => None,
            };
        let fields = match q.get("fieldSelector") {
            Some(s) => Some(
                FieldSelector::parse(s, &res.group, &res.kind).map_err(ApiError::bad_request)?,
            ),
            None => None,
        };
        Ok(Filters { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        if let Some(l) = &self.labels {
            if !l.matches(objects::labels(obj)) {
                return false;
            }
        }
        if let Some(f) = &self.fields {
            if !f.matches(obj) {
                return false;
            }
        }
        true
    }
}

/// Continue token: the revision of the first page and the next key.
fn encode_continue(rev: i64, next: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE.encode(json!({"rv": rev, "start": next}).to_string())
}

fn decode_continue(tok: &str) -> ApiResult<(i64, String)> {
    use base64::Engine;
    let bad = || ApiError::bad_request("continue key is not valid: invalid continue token");
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(tok)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((
        v["rv"].as_i64().ok_or_else(bad)?,
        v["start"].as_str().ok_or_else(bad)?.to_string(),
    ))
}

fn list(state: &ApiState, t: &Target, q: &Query, headers: &HeaderMap) -> ApiResult<Response<Body>> {
    let res = &t.resource;
    let filters = Filters::parse(res, q)?;
    let prefix = collection_prefix(res, t.namespace.as_deref());
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);

    let (at_rev, start) = match q.get("continue") {
        Some(tok) => {
            let (rev, start) = decode_continue(tok)?;
            (Some(rev), start)
        }
        None => {
            let exact = q.get("resourceVersionMatch") == Some("Exact");
            let rv = q
                .get("resourceVersion")
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|r| *r > 0);
            match (exact, rv) {
                (true, Some(r)) => (Some(r), prefix.clone()),
                _ => (None, prefix.clone()),
            }
        }
    };

    if filters.labels.is_none()
        && filters.fields.is_none()
        && !http::wants_table(headers)
        && !res.custom
    {
        if let Some(resp) = list_raw(state, res, &prefix, &start, at_rev, limit)? {
            return Ok(resp);
        }
    }
    // Filtering happens after the store read, so read pages until the limit
    // is filled with matches or the collection ends.
    let mut items = Vec::new();
    let mut next_start = start;
    let mut rev = at_rev.unwrap_or_else(|| state.store.revision());
    let mut more = None;
    let page = limit.map(|l| l + 1).unwrap_or(usize::MAX);
    loop {
        let lr = state.store.list_at(&prefix, &next_start, rev, page)?;
        rev = lr.rev;
        let n = lr.entries.len();
        for e in lr.entries {
            let v = objects::decode_stored(&e.value, e.rev)?;
            if !filters.matches(&v) {
                next_start = format!("{}\0", e.key);
                continue;
            }
            if let Some(l) = limit {
                if items.len() == l {
                    more = Some(e.key.clone());
                    break;
                }
            }
            next_start = format!("{}\0", e.key);
            items.push(with_type(res, v));
        }
        if more.is_some() || n < page {
            break;
        }
    }
    let cont = more.map(|k| encode_continue(rev, &k)).unwrap_or_default();
    let rv = rev.to_string();

    if http::wants_table(headers) {
        let include = printing::IncludeObject::from_query(q.get("includeObject"));
        let custom = custom_of(state, res);
        return Ok(json_response(
            200,
            &printing::table(res, custom.as_ref(), &items, &rv, &cont, include),
        ));
    }
    let mut md = json!({"resourceVersion": rv});
    if !cont.is_empty() {
        md["continue"] = json!(cont);
    }
    Ok(json_response(
        200,
        &json!({"kind": res.list_kind, "apiVersion": res.api_version(), "metadata": md, "items": items}),
    ))
}

/// An unfiltered JSON list assembled from the stored bytes without parsing
/// them; `None` when some object is not in the spliceable layout.
fn list_raw(
    state: &ApiState,
    res: &Resource,
    prefix: &str,
    start: &str,
    at_rev: Option<i64>,
    limit: Option<usize>,
) -> ApiResult<Option<Response<Body>>> {
    let rev = at_rev.unwrap_or_else(|| state.store.revision());
    let page = limit.map(|l| l + 1).unwrap_or(usize::MAX);
    let lr = state.store.list_at(prefix, start, rev, page)?;
    let mut entries = lr.entries;
    let cont = match limit {
        Some(l) if entries.len() > l => {
            let next = entries.pop().map(|e| e.key).unwrap_or_default();
            encode_continue(lr.rev, &next)
        }
        _ => String::new(),
    };
    let mut md = json!({"resourceVersion": lr.rev.to_string()});
    if !cont.is_empty() {
        md["continue"] = json!(cont);
    }
    let head = json!({"kind": res.list_kind, "apiVersion": res.api_version(), "metadata": md});
    let mut out = serde_json::to_vec(&head).map_err(|e| ApiError::internal(e.to_string()))?;
    out.pop();
    out.extend_from_slice(b",\"items\":[");
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match objects::splice_rv(&e.value, e.rev) {
            Some(b) => out.extend_from_slice(&b),
            None => return Ok(None),
        }
    }
    out.extend_from_slice(b"]}");
    Ok(Some(http::bytes_response(200, out)))
}

fn get_scale(state: &ApiState, t: &Target) -> ApiResult<Response<Body>> {
    let (_, v) = load(state, t)?;
    Ok(json_response(200, &scale_of(state, &t.resource, &v)))
}

/// The `autoscaling/v1 Scale` view of a scalable object.
fn scale_of(state: &ApiState, res: &Resource, obj: &Value) -> Value {
    let (spec_path, status_path, selector) = match custom_of(state, res).and_then(|c| c.scale) {
        Some(s) => {
            let sel = s
                .label_selector_path
                .as_deref()
                .and_then(|p| get_path(obj, p))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            (s.spec_replicas_path, s.status_replicas_path, sel)
        }
        None => (
            ".spec.replicas".to_string(),
            ".status.replicas".to_string(),
            obj.pointer("/spec/selector")
                .and_then(|s| LabelSelector::from_json(s).ok().flatten())
                .map(|s| s.to_string())
                .unwrap_or_default(),
        ),
    };
    let m = objects::meta(obj).cloned().unwrap_or_default();
    let mut md = json!({});
    for k in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(x) = m.get(k) {
            md[k] = x.clone();
        }
    }
    let mut status =
        json!({"replicas": get_path(obj, &status_path).and_then(Value::as_i64).unwrap_or(0)});
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": md,
        "spec": {"replicas": get_path(obj, &spec_path).and_then(Value::as_i64).unwrap_or(0)},
        "status": status,
    })
}

/// `.spec.replicas` style path lookup.
fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let ptr: String = path
        .trim_start_matches('.')
        .split('.')
        .map(|s| format!("/{s}"))
        .collect();
    v.pointer(&ptr)
}

fn set_path(v: &mut Value, path: &str, new: Value) {
    let mut cur = v;
    let parts: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = json!({});
        }
        if i == parts.len() - 1 {
            cur[*p] = new;
            return;
        }
        cur = &mut cur[*p];
    }
}

// === writes ===

/// How unknown fields are treated (`fieldValidation`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

fn field_validation(q: &Query) -> ApiResult<FieldValidation> {
    match q.get("fieldValidation") {
        None | Some("Warn") => Ok(FieldValidation::Warn),
        Some("Strict") => Ok(FieldValidation::Strict),
        Some("Ignore") => Ok(FieldValidation::Ignore),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation parameter unsupported: {other}; must be one of Ignore, Warn, or Strict"
        ))),
    }
}

fn dry_run(q: &Query) -> bool {
    q.get("dryRun") == Some("All")
}

/// Decode a create/update body (JSON or protobuf).
fn decode_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    let ct = http::content_type(headers);
    match ct.as_str() {
        "application/json" | "" => http::parse_json_object(body),
        api::protobuf::CONTENT_TYPE => api::protobuf::decode(body).map_err(|e| match e {
            api::protobuf::ProtoError::UnsupportedKind { .. } => {
                ApiError::unsupported_media_type(format!("{e}; send this kind as application/json"))
            }
            e => ApiError::bad_request(format!("unable to decode protobuf body: {e}")),
        }),
        _ => Err(unsupported_body()),
    }
}

fn unsupported_body() -> ApiError {
    ApiError::unsupported_media_type(
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    )
}

/// The body must be of the kind the URL names.
fn check_type(res: &Resource, obj: &mut Value) -> ApiResult<()> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let av = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() && av.is_empty() {
        let m = obj
            .as_object_mut()
            .ok_or_else(|| ApiError::bad_request("object expected"))?;
        m.insert("apiVersion".into(), json!(res.api_version()));
        m.insert("kind".into(), json!(res.kind));
        return Ok(());
    }
    if kind != res.kind || av != res.api_version() {
        let group_of = |s: &str| {
            s.rsplit_once('/')
                .map(|(g, _)| g.to_string())
                .unwrap_or_default()
        };
        if kind == res.kind && group_of(av) == res.group {
            // Another version of the same group/kind: stored as this one.
            obj["apiVersion"] = json!(res.api_version());
            return Ok(());
        }
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            res.api_version()
        )));
    }
    Ok(())
}

/// Unknown-field handling, defaults, allocation-free validation.
/// Returns warnings for the `Warning` header.
fn admit(
    state: &ApiState,
    t: &Target,
    obj: &mut Value,
    old: Option<&Value>,
    fv: FieldValidation,
) -> ApiResult<Vec<String>> {
    let res = &t.resource;
    let name = objects::name(obj).unwrap_or("").to_string();
    let mut warnings = Vec::new();
    let custom = custom_of(state, res);
    let unknown = match (&custom, res.custom) {
        (Some(c), _) => c
            .schema
            .as_ref()
            .map(|s| api::crd::unknown_fields(s, obj))
            .unwrap_or_default(),
        (None, false) => api::openapi::unknown_fields(&res.group, &res.version, &res.kind, obj),
        (None, true) => Vec::new(),
    };
    if !unknown.is_empty() {
        match fv {
            FieldValidation::Strict => {
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    unknown.join(", "),
                    kind = res.kind,
                    v = res.version,
                )))
            }
            FieldValidation::Warn => warnings.extend(unknown),
            FieldValidation::Ignore => {}
        }
    }
    let errs = match &custom {
        Some(c) => {
            let mut errs = Vec::new();
            errs.extend(
                api::admission::validate_name(&res.group, &res.kind, &name)
                    .into_iter()
                    .map(|m| {
                        api::errors::FieldError::invalid(
                            "metadata.name",
                            api::errors::quote(&name),
                            m,
                        )
                    }),
            );
            if let Some(schema) = &c.schema {
                errs.extend(api::crd::prune_default_validate(schema, obj));
            }
            errs
        }
        None => {
            api::openapi::prune_unknown(&res.group, &res.version, &res.kind, obj);
            if res.group == "apiextensions.k8s.io" {
                api::crd::default_crd(obj);
                let mut errs = api::crd::validate_crd(obj, old);
                errs.extend(
                    api::admission::validate(&res.group, &res.kind, obj, old)
                        .into_iter()
                        .filter(|e| e.field.starts_with("metadata")),
                );
                errs
            } else {
                api::admission::apply_defaults(&res.group, &res.kind, obj);
                api::admission::validate(&res.group, &res.kind, obj, old)
            }
        }
    };
    if !errs.is_empty() {
        return Err(ApiError::invalid(res, &name, &errs));
    }
    Ok(warnings)
}

fn warning_headers(resp: &mut Response<Body>, warnings: &[String]) {
    for w in warnings {
        let text = format!("299 - {}", serde_json::to_string(w).unwrap_or_default());
        if let Ok(v) = HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
}

async fn namespace_ready(state: &ApiState, t: &Target, creating: bool) -> ApiResult<()> {
    let Some(ns) = t.namespace.as_deref() else {
        return Ok(());
    };
    let nsr = state
        .registry
        .find("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces not served"))?;
    let Some(e) = state.store.get(&object_key(&nsr, None, ns)) else {
        return Err(ApiError::namespace_not_found(ns));
    };
    if creating {
        let v = objects::decode_stored(&e.value, e.rev)?;
        if meta_str(&v, "deletionTimestamp").is_some() {
            return Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                t.resource.qualified_plural(),
                name_of(t)
            )));
        }
    }
    Ok(())
}

async fn create(
    state: &Arc<ApiState>,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let mut obj = decode_body(headers, &bytes)?;
    check_type(&t.resource, &mut obj)?;
    let fv = field_validation(q)?;
    let res = &t.resource;

    let md = meta_mut(&mut obj);
    if md
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if let Some(ns) = &t.namespace {
        match md.get("namespace").and_then(Value::as_str) {
            Some(b) if !b.is_empty() && b != ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            _ => {
                md.insert("namespace".into(), json!(ns));
            }
        }
    } else {
        md.remove("namespace");
    }
    let name = match md
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(n) => n.to_string(),
        None => match md
            .get("generateName")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(g) => {
                let n = objects::generate_name(g);
                md.insert("name".into(), json!(n));
                n
            }
            None => {
                let e = api::errors::FieldError::required(
                    "metadata.name",
                    "name or generateName is required",
                );
                return Err(ApiError::invalid(res, "", &[e]));
            }
        },
    };
    md.insert("uid".into(), json!(objects::new_uid()));
    md.insert(
        "creationTimestamp".into(),
        json!(api::meta::rfc3339(api::meta::now_unix())),
    );
    for k in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        md.remove(k);
    }
    if objects::has_generation(res) {
        md.insert("generation".into(), json!(1));
    } else {
        md.remove("generation");
    }
    // Status is written only through /status (custom resources list "status"
    // only when the CRD enables that subresource).
    if objects::has_status_subresource(res) {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    if !res.custom {
        if let Some(st) = api::admission::initial_status(&res.group, &res.kind, &obj) {
            obj["status"] = st;
        }
    }
    let target = Target {
        name: Some(name.clone()),
        ..t.clone()
    };
    namespace_ready(state, &target, true).await?;
    if !res.custom {
        api::admission::prepare_for_create(&res.group, &res.kind, &mut obj);
    }
    let warnings = admit(state, &target, &mut obj, None, fv)?;
    if res.group == "apiextensions.k8s.io" {
        obj["status"] = api::crd::crd_status(&obj, api::meta::now_unix());
    }

    let key = key_of(&target);
    let stored = if res.group.is_empty() && res.kind == "Service" {
        let _guard = state.alloc.lock().await;
        services::allocate(state, &mut obj, None)?;
        write_new(state, &target, &key, &obj, dry_run(q)).await?
    } else {
        write_new(state, &target, &key, &obj, dry_run(q)).await?
    };
    if res.group == "apiextensions.k8s.io" && !dry_run(q) {
        crate::crds::register(state, &stored);
    }
    let mut resp = json_response(201, &stored);
    warning_headers(&mut resp, &warnings);
    Ok(resp)
}

async fn write_new(
    state: &ApiState,
    t: &Target,
    key: &str,
    obj: &Value,
    dry: bool,
) -> ApiResult<Value> {
    if dry {
        if state.store.get(key).is_some() {
            return Err(ApiError::already_exists(&t.resource, name_of(t)));
        }
        return Ok(obj.clone());
    }
    match state
        .store
        .create(key, objects::encode_for_store(obj)?)
        .await
    {
        Ok(e) => Ok(with_type(&t.resource, with_rv(obj, e.rev))),
        Err(StoreError::AlreadyExists) => Err(ApiError::already_exists(&t.resource, name_of(t))),
        Err(e) => Err(e.into()),
    }
}

/// Which part of the object a write may change.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Main,
    Status,
    Scale,
}

fn part_of(t: &Target) -> ApiResult<Part> {
    match t.subresource.as_deref() {
        None => Ok(Part::Main),
        Some("status") => Ok(Part::Status),
        Some("scale") => Ok(Part::Scale),
        Some(_) => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

async fn update(
    state: &Arc<ApiState>,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let part = part_of(t)?;
    let mut incoming = decode_body(headers, &bytes)?;
    if part != Part::Scale {
        check_type(&t.resource, &mut incoming)?;
    }
    if let Some(n) = objects::name(&incoming) {
        if n != name_of(t) {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({})",
                name_of(t)
            )));
        }
    }
    let precondition = objects::client_rv(&incoming)?;
    let fv = field_validation(q)?;
    let dry = dry_run(q);
    write_with_retries(state, t, part, precondition, fv, dry, move |_current| {
        Ok(incoming.clone())
    })
    .await
}

async fn patch(
    state: &Arc<ApiState>,
    t: &Target,
    q: &Query,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let part = part_of(t)?;
    let ct = http::content_type(headers);
    let res = t.resource.clone();
    let patch_doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let kind = match ct.as_str() {
        "application/json-patch+json" => PatchKind::Json,
        "application/merge-patch+json" => PatchKind::Merge,
        "application/strategic-merge-patch+json" => {
            if res.custom {
                return Err(ApiError::unsupported_media_type(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
                ));
            }
            PatchKind::Strategic
        }
        "application/apply-patch+yaml" => PatchKind::Apply,
        _ => {
            return Err(ApiError::unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json",
            ))
        }
    };
    let precondition = match (&kind, patch_doc.pointer("/metadata/resourceVersion")) {
        (PatchKind::Json, _) => None,
        (_, Some(Value::String(s))) => Some(
            s.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?,
        ),
        _ => None,
    };
    let fv = field_validation(q)?;
    let dry = dry_run(q);

    // Server-side apply creates when absent.
    if kind == PatchKind::Apply && part == Part::Main && state.store.get(&key_of(t)).is_none() {
        let mut obj = patch_doc.clone();
        meta_mut(&mut obj).insert("name".into(), json!(name_of(t)));
        let b = Body::from(serde_json::to_vec(&obj).unwrap_or_default());
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let coll = Target {
            name: None,
            ..t.clone()
        };
        return create(state, &coll, q, &h, b).await;
    }

    write_with_retries(state, t, part, precondition, fv, dry, move |current| {
        let out = match kind {
            PatchKind::Json => api::patch::json_patch(current, &patch_doc)?,
            PatchKind::Merge | PatchKind::Apply => {
                api::patch::json_merge_patch(current, &patch_doc)
            }
            PatchKind::Strategic if part == Part::Scale => {
                api::patch::json_merge_patch(current, &patch_doc)
            }
            PatchKind::Strategic => {
                api::patch::strategic_merge_patch(&res.group, &res.kind, current, &patch_doc)?
            }
        };
        if !out.is_object() {
            return Err(ApiError::bad_request("patch result is not an object"));
        }
        Ok(out)
    })
    .await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PatchKind {
    Json,
    Merge,
    Strategic,
    Apply,
}

/// Read-modify-write with optimistic concurrency. `modify` gets the current
/// view (object, or Scale for the scale subresource) and returns the desired one.
async fn write_with_retries<F>(
    state: &Arc<ApiState>,
    t: &Target,
    part: Part,
    precondition: Option<i64>,
    fv: FieldValidation,
    dry: bool,
    modify: F,
) -> ApiResult<Response<Body>>
where
    F: Fn(&Value) -> ApiResult<Value>,
{
    let res = &t.resource;
    for _ in 0..MAX_RETRIES {
        let (entry, current) = load(state, t)?;
        if let Some(p) = precondition {
            if p != entry.rev {
                return Err(ApiError::conflict(res, name_of(t)));
            }
        }
        let view = match part {
            Part::Scale => scale_of(state, res, &current),
            _ => current.clone(),
        };
        let desired = modify(&view)?;
        let mut next = match part {
            Part::Main => {
                let mut n = desired;
                // Custom resources list "status" only when the CRD enables it.
                if objects::has_status_subresource(res) {
                    n = objects::with_status_of(&n, &current);
                }
                n
            }
            Part::Status => {
                let mut n = objects::with_status_of(&current, &desired);
                // Status writers may also maintain labels/annotations? Upstream
                // status strategies keep all metadata from storage.
                // Upstream's Deployment and ReplicaSet status strategies keep
                // annotations from the request (the controller records the
                // revision there); everything else in metadata is storage's.
                let annotations = (res.group == "apps")
                    .then(|| desired.pointer("/metadata/annotations").cloned())
                    .flatten();
                if let Some(m) = n.as_object_mut() {
                    m.insert("metadata".into(), current["metadata"].clone());
                }
                if let Some(a) = annotations {
                    meta_mut(&mut n).insert("annotations".into(), a);
                }
                n
            }
            Part::Scale => {
                let replicas = desired
                    .pointer("/spec/replicas")
                    .cloned()
                    .unwrap_or(json!(0));
                if !replicas.is_i64() {
                    return Err(ApiError::bad_request("spec.replicas must be an integer"));
                }
                let path = custom_of(state, res)
                    .and_then(|c| c.scale)
                    .map(|s| s.spec_replicas_path)
                    .unwrap_or_else(|| ".spec.replicas".into());
                let mut n = current.clone();
                set_path(&mut n, &path, replicas);
                n
            }
        };
        check_type(res, &mut next)?;
        preserve_system_meta(res, &current, &mut next);
        if part == Part::Main && !res.custom {
            api::admission::prepare_for_update(&res.group, &res.kind, &mut next, &current);
        }
        if objects::has_generation(res) {
            let g = current
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            // Status writes never bump the generation, even when they carry
            // annotations (the Deployment controller's revision).
            let bump = part != Part::Status && objects::generation_changed(res, &current, &next);
            meta_mut(&mut next).insert("generation".into(), json!(if bump { g + 1 } else { g }));
        }
        let warnings = if part == Part::Main || part == Part::Scale {
            admit(state, t, &mut next, Some(&current), fv)?
        } else {
            Vec::new()
        };
        if res.group == "apiextensions.k8s.io" && part == Part::Main {
            next["status"] = current.get("status").cloned().unwrap_or(json!({}));
            let st = api::crd::crd_status(&next, api::meta::now_unix());
            next["status"] = st;
        }

        // Finalizers removed from an object being deleted: it goes away now.
        // A bound pod terminating gracefully stays until its node agent
        // confirms with a zero-grace delete, whatever status writes happen
        // meanwhile.
        let graceful_pod = res.group.is_empty()
            && res.kind == "Pod"
            && next
                .pointer("/metadata/deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                > 0;
        let deleting = meta_str(&next, "deletionTimestamp").is_some() && !graceful_pod;
        let no_finalizers = objects::meta(&next)
            .and_then(|m| m.get("finalizers"))
            .and_then(Value::as_array)
            .is_none_or(|a| a.is_empty());
        if deleting && no_finalizers && !dry {
            return match state
                .store
                .delete(&entry.key, Precondition::Revision(entry.rev))
                .await
            {
                Ok(e) => Ok(json_response(
                    200,
                    &with_type(res, objects::decode_stored(&e.value, e.rev)?),
                )),
                Err(StoreError::Conflict { .. }) if precondition.is_none() => continue,
                Err(StoreError::Conflict { .. }) => Err(ApiError::conflict(res, name_of(t))),
                Err(StoreError::NotFound) => Err(ApiError::not_found(res, name_of(t))),
                Err(e) => Err(e.into()),
            };
        }

        let mut no_rv = next.clone();
        meta_mut(&mut no_rv).remove("resourceVersion");
        let mut cur_no_rv = current.clone();
        meta_mut(&mut cur_no_rv).remove("resourceVersion");
        // A write that changes nothing keeps the resourceVersion (no event).
        if no_rv == cur_no_rv || dry {
            let out = if part == Part::Scale {
                scale_of(state, res, &next)
            } else {
                next
            };
            let mut resp = json_response(200, &out);
            warning_headers(&mut resp, &warnings);
            return Ok(resp);
        }

        let result = if res.group.is_empty() && res.kind == "Service" {
            let _guard = state.alloc.lock().await;
            services::allocate(state, &mut next, Some(&current))?;
            put(state, &entry, &next).await
        } else {
            put(state, &entry, &next).await
        };
        match result {
            Ok(stored) => {
                if res.group == "apiextensions.k8s.io" {
                    crate::crds::register(state, &stored);
                }
                let out = if part == Part::Scale {
                    scale_of(state, res, &stored)
                } else {
                    stored
                };
                let mut resp = json_response(200, &out);
                warning_headers(&mut resp, &warnings);
                return Ok(resp);
            }
            Err(StoreError::Conflict { .. }) if precondition.is_none() => continue,
            Err(StoreError::Conflict { .. }) => return Err(ApiError::conflict(res, name_of(t))),
            Err(StoreError::NotFound) => return Err(ApiError::not_found(res, name_of(t))),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(res, name_of(t)))
}

async fn put(state: &ApiState, entry: &Entry, obj: &Value) -> Result<Value, StoreError> {
    let bytes = objects::encode_for_store(obj)
        .map_err(|e| StoreError::Io(std::io::Error::other(e.message)))?;
    let e = state
        .store
        .put(&entry.key, bytes, Precondition::Revision(entry.rev))
        .await?;
    Ok(with_rv(obj, e.rev))
}

/// The object as stored at revision `rev` (what a read would return).
fn with_rv(obj: &Value, rev: i64) -> Value {
    let mut v = obj.clone();
    meta_mut(&mut v).insert("resourceVersion".into(), json!(rev.to_string()));
    v
}

/// Fields clients cannot change with an update.
fn preserve_system_meta(res: &Resource, current: &Value, next: &mut Value) {
    let cur = objects::meta(current).cloned().unwrap_or_default();
    let md = meta_mut(next);
    for k in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
    ] {
        match cur.get(k) {
            Some(v) => {
                md.insert(k.into(), v.clone());
            }
            None => {
                md.remove(k);
            }
        }
    }
    md.remove("managedFields");
    md.remove("selfLink");
    if !objects::has_generation(res) {
        md.remove("generation");
    }
}

// === delete ===

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Propagation {
    Background,
    Foreground,
    Orphan,
}

struct DeleteOptions {
    propagation: Propagation,
    grace: Option<i64>,
    uid: Option<String>,
    rv: Option<String>,
    dry: bool,
}

fn delete_options(q: &Query, body: &[u8]) -> ApiResult<DeleteOptions> {
    let opts: Value = if body.iter().all(|b| b.is_ascii_whitespace()) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let pp = opts
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| q.get("propagationPolicy").map(str::to_string));
    let orphan = opts
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| q.get("orphanDependents").map(|s| s == "true"));
    let propagation = match (pp.as_deref(), orphan) {
        (Some("Foreground"), _) => Propagation::Foreground,
        (Some("Orphan"), _) | (None, Some(true)) => Propagation::Orphan,
        (Some("Background"), _) | (None, _) => Propagation::Background,
        (Some(other), _) => {
            return Err(ApiError::bad_request(format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
            )))
        }
    };
    let grace = opts
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| q.get("gracePeriodSeconds").and_then(|s| s.parse().ok()));
    let pre = opts.get("preconditions");
    Ok(DeleteOptions {
        propagation,
        grace,
        uid: pre
            .and_then(|p| p.get("uid"))
            .and_then(Value::as_str)
            .map(str::to_string),
        rv: pre
            .and_then(|p| p.get("resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string),
        dry: opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x == "All"))
            || dry_run(q),
    })
}

async fn delete(
    state: &Arc<ApiState>,
    t: &Target,
    q: &Query,
    body: Body,
) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let opts = delete_options(q, &bytes)?;
    let v = delete_one(state, t, &opts).await?;
    Ok(json_response(200, &v))
}

/// Delete one object per the options; returns what the client is shown.
async fn delete_one(state: &Arc<ApiState>, t: &Target, opts: &DeleteOptions) -> ApiResult<Value> {
    let res = &t.resource;
    for _ in 0..MAX_RETRIES {
        let (entry, current) = load(state, t)?;
        if let Some(uid) = &opts.uid {
            if meta_str(&current, "uid") != Some(uid.as_str()) {
                return Err(ApiError::conflict_msg(
                    res,
                    name_of(t),
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta_str(&current, "uid").unwrap_or("")
                    ),
                ));
            }
        }
        if let Some(rv) = &opts.rv {
            if *rv != entry.rev.to_string() {
                return Err(ApiError::conflict_msg(res, name_of(t), &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in meta: {}",
                    entry.rev
                )));
            }
        }
        let mut next = current.clone();
        let already_deleting = meta_str(&current, "deletionTimestamp").is_some();
        let mut finalizers: Vec<Value> = objects::meta(&current)
            .and_then(|m| m.get("finalizers"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let gc_finalizer = match opts.propagation {
            Propagation::Foreground => Some("foregroundDeletion"),
            Propagation::Orphan => Some("orphan"),
            Propagation::Background => None,
        };
        if let Some(f) = gc_finalizer {
            if !finalizers.iter().any(|x| x == f) {
                finalizers.push(json!(f));
            }
        }
        // Pods bound to a node terminate gracefully: the node agent removes them.
        let pod_grace = if res.group.is_empty() && res.kind == "Pod" {
            let bound = current
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            let phase = current
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .unwrap_or("");
            let terminal = phase == "Succeeded" || phase == "Failed";
            let g = opts
                .grace
                .or_else(|| {
                    current
                        .pointer("/spec/terminationGracePeriodSeconds")
                        .and_then(Value::as_i64)
                })
                .unwrap_or(30);
            if bound && !terminal && g > 0 {
                Some(g)
            } else {
                None
            }
        } else {
            None
        };
        let namespace_finalizing = res.group.is_empty() && res.kind == "Namespace";

        let immediate = finalizers.is_empty() && pod_grace.is_none() && !namespace_finalizing;
        if opts.dry {
            return Ok(current);
        }
        if immediate {
            match state
                .store
                .delete(&entry.key, Precondition::Revision(entry.rev))
                .await
            {
                Ok(e) => {
                    if res.group == "apiextensions.k8s.io" {
                        crate::crds::unregister(state, &current).await;
                    }
                    let _ = e;
                    return Ok(current);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(StoreError::NotFound) => return Err(ApiError::not_found(res, name_of(t))),
                Err(e) => return Err(e.into()),
            }
        }
        let md = meta_mut(&mut next);
        if !already_deleting {
            md.insert(
                "deletionTimestamp".into(),
                json!(api::meta::rfc3339(api::meta::now_unix())),
            );
            md.insert(
                "deletionGracePeriodSeconds".into(),
                json!(pod_grace.unwrap_or(0)),
            );
        } else if let Some(g) = pod_grace {
            // A shorter grace period may replace a longer one, never the reverse.
            let cur = md
                .get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64)
                .unwrap_or(g);
            md.insert("deletionGracePeriodSeconds".into(), json!(cur.min(g)));
        }
        if !finalizers.is_empty() {
            md.insert("finalizers".into(), Value::Array(finalizers));
        }
        if namespace_finalizing {
            next["status"] = json!({"phase": "Terminating"});
        }
        if next == current {
            return Ok(current);
        }
        match put(state, &entry, &next).await {
            Ok(stored) => {
                if namespace_finalizing {
                    crate::namespaces::finalize_soon(state.clone(), name_of(t).to_string());
                }
                return Ok(with_type(res, stored));
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(StoreError::NotFound) => return Err(ApiError::not_found(res, name_of(t))),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(res, name_of(t)))
}

async fn delete_collection(
    state: &Arc<ApiState>,
    t: &Target,
    q: &Query,
    body: Body,
) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let opts = delete_options(q, &bytes)?;
    let filters = Filters::parse(&t.resource, q)?;
    let prefix = collection_prefix(&t.resource, t.namespace.as_deref());
    let lr = state.store.list(&prefix);
    let mut items = Vec::new();
    for e in lr.entries {
        let v = objects::decode_stored(&e.value, e.rev)?;
        if !filters.matches(&v) {
            continue;
        }
        let target = Target {
            name: objects::name(&v).map(str::to_string),
            namespace: objects::meta_str(&v, "namespace").map(str::to_string),
            ..t.clone()
        };
        match delete_one(state, &target, &opts).await {
            Ok(v) => items.push(v),
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let res = &t.resource;
    Ok(json_response(
        200,
        &json!({"kind": res.list_kind, "apiVersion": res.api_version(), "metadata": {"resourceVersion": state.store.revision().to_string()}, "items": items}),
    ))
}

/// `pods/<name>/binding`: the scheduler assigns a node.
/// Set (or add) the PodScheduled=True condition, keeping the transition
/// time when it already was True.
fn set_pod_scheduled(pod: &mut Value) {
    if !pod["status"].is_object() {
        pod["status"] = json!({});
    }
    if !pod["status"]["conditions"].is_array() {
        pod["status"]["conditions"] = json!([]);
    }
    let now = api::meta::rfc3339(api::meta::now_unix());
    if let Some(conds) = pod["status"]["conditions"].as_array_mut() {
        match conds.iter_mut().find(|c| c["type"] == "PodScheduled") {
            Some(c) if c["status"] == "True" => {}
            Some(c) => {
                c["status"] = json!("True");
                c["lastTransitionTime"] = json!(now);
                c["lastProbeTime"] = Value::Null;
                if let Some(o) = c.as_object_mut() {
                    o.remove("reason");
                    o.remove("message");
                }
            }
            None => conds.push(json!({
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": null,
                "lastTransitionTime": now,
            })),
        }
    }
}

async fn bind(state: &Arc<ApiState>, t: &Target, body: Body) -> ApiResult<Response<Body>> {
    let bytes = http::read_body(body).await?;
    let binding = http::parse_json_object(&bytes)?;
    let node = binding
        .pointer("/target/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if node.is_empty() {
        let e = api::errors::FieldError::required("target.name", "");
        return Err(ApiError::invalid(&t.resource, name_of(t), &[e]));
    }
    let pod_target = Target {
        subresource: None,
        ..t.clone()
    };
    for _ in 0..MAX_RETRIES {
        let (entry, current) = load(state, &pod_target)?;
        if current
            .pointer("/spec/nodeName")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(ApiError::conflict_msg(
                &t.resource,
                name_of(t),
                &format!(
                    "pod {} is already assigned to node \"{}\"",
                    name_of(t),
                    current
                        .pointer("/spec/nodeName")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
            ));
        }
        let mut next = current.clone();
        next["spec"]["nodeName"] = json!(node);
        // As upstream's binding: annotations of the Binding are copied, and
        // PodScheduled=True is recorded in the same write.
        if let Some(annotations) = binding
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
        {
            for (k, v) in annotations {
                next["metadata"]["annotations"][k] = v.clone();
            }
        }
        set_pod_scheduled(&mut next);
        match put(state, &entry, &next).await {
            Ok(_) => {
                return Ok(json_response(
                    201,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
                ))
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(&t.resource, name_of(t)))
}
