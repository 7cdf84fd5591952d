use super::*;
use serde_json::json;

fn unknown(group: &str, kind: &str, obj: Value) -> Vec<String> {
    let version = "v1";
    unknown_fields(group, version, kind, &obj)
}

/// `expected` lists the reported paths; pruning must remove exactly those.
fn check(group: &str, kind: &str, obj: Value, expected: &[&str]) {
    let want: Vec<String> = expected
        .iter()
        .map(|p| format!("unknown field \"{p}\""))
        .collect();
    assert_eq!(unknown(group, kind, obj.clone()), want, "object: {obj}");
    let mut pruned = obj.clone();
    prune_unknown(group, "v1", kind, &mut pruned);
    assert_eq!(
        unknown(group, kind, pruned.clone()),
        Vec::<String>::new(),
        "pruned: {pruned}"
    );
    if expected.is_empty() {
        assert_eq!(pruned, obj, "pruning changed a valid object");
    }
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
}

fn pod_spec(container: Value) -> Value {
    json!({"containers": [container]})
}

#[test]
fn unknown_field_cases() {
    let web = json!({"name": "web", "image": "nginx"});
    check(
        "apps",
        "Deployment",
        deployment(json!({"replicas": 1})),
        &[],
    );
    check(
        "apps",
        "Deployment",
        deployment(json!({"replicas": 1, "foo": 2})),
        &["spec.foo"],
    );
    check(
        "apps",
        "Deployment",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "bogus": true}),
        &["bogus"],
    );
    check(
        "apps",
        "Deployment",
        deployment(json!({"template": {"spec": pod_spec(json!({"name": "a", "imagee": "x"}))}})),
        &["spec.template.spec.containers[0].imagee"],
    );
    // Field names are case-sensitive.
    check(
        "apps",
        "Deployment",
        deployment(json!({"Replicas": 1})),
        &["spec.Replicas"],
    );
    // Document order, several levels.
    check(
        "apps",
        "Deployment",
        deployment(json!({"z": 1, "strategy": {"type": "Recreate", "rollingUpdat": {}}, "a": 2})),
        &["spec.z", "spec.strategy.rollingUpdat", "spec.a"],
    );
    // IntOrString accepts both forms and nothing is reported inside.
    check(
        "apps",
        "Deployment",
        deployment(
            json!({"strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}}),
        ),
        &[],
    );
    // Unknown fields in ObjectMeta are reported (upstream: "metadata.app").
    check(
        "",
        "Service",
        json!({"metadata": {"name": "s", "app": "x"}}),
        &["metadata.app"],
    );
    // Label / annotation maps accept any key.
    check(
        "",
        "Pod",
        json!({"metadata": {"labels": {"anything": "x"}, "annotations": {"a/b": "c"}}}),
        &[],
    );
    // managedFields[].fieldsV1 is opaque.
    check(
        "",
        "ConfigMap",
        json!({"metadata": {"managedFields": [{"manager": "m", "fieldsV1": {"f:data": {"f:x": {}}}}]}, "data": {"k": "v"}}),
        &[],
    );
    // ConfigMap has no status.
    check(
        "",
        "ConfigMap",
        json!({"data": {"k": "v"}, "status": {}}),
        &["status"],
    );
    // Quantities in resource maps.
    check(
        "",
        "Pod",
        json!({"spec": pod_spec(json!({"name": "a", "resources": {"limits": {"cpu": "100m", "memory": 1024}, "limit": {}}}))}),
        &["spec.containers[0].resources.limit"],
    );
    // Several list items, nested list.
    check(
        "",
        "Pod",
        json!({"spec": {"containers": [web.clone(), {"name": "b", "ports": [{"containerPort": 80}, {"containerPort": 81, "hostport": 1}]}], "volumes": [{"name": "v", "presistentVolumeClaim": {}}]}}),
        &[
            "spec.containers[1].ports[1].hostport",
            "spec.volumes[0].presistentVolumeClaim",
        ],
    );
    // Unknown fields inside status are reported too.
    check(
        "",
        "Pod",
        json!({"status": {"phase": "Running", "ready": true}}),
        &["status.ready"],
    );
    // null values are still fields.
    check(
        "apps",
        "ReplicaSet",
        json!({"spec": {"replicas": null, "nope": null}}),
        &["spec.nope"],
    );
    // Secret data is a map of bytes.
    check(
        "",
        "Secret",
        json!({"data": {"a": "YQ=="}, "stringData": {"b": "c"}, "type": "Opaque"}),
        &[],
    );
    // Service ports: targetPort is IntOrString; nodeport misspelt.
    check(
        "",
        "Service",
        json!({"spec": {"ports": [{"port": 80, "targetPort": "http", "nodeport": 3}]}}),
        &["spec.ports[0].nodeport"],
    );
    // Types that are not objects where the schema expects one are not unknown fields.
    check("apps", "Deployment", deployment(json!("oops")), &[]);
    // CRD openAPIV3Schema: nested JSONSchemaProps are checked; JSON values and
    // the Or* wrappers are opaque.
    check(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        json!({"spec": {"group": "g", "versions": [{"name": "v1", "served": true, "storage": true,
            "schema": {"openAPIV3Schema": {"type": "object", "default": {"x": 1},
                "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "typo": 1}},
                "items": {"anything": 1}}}}]}}),
        &["spec.versions[0].schema.openAPIV3Schema.properties.spec.typo"],
    );
    // Lease spec times are strings.
    check(
        "coordination.k8s.io",
        "Lease",
        json!({"spec": {"holderIdentity": "a", "renewTime": "2024-01-01T00:00:00.000000Z", "x": 1}}),
        &["spec.x"],
    );
    // Node status addresses.
    check(
        "",
        "Node",
        json!({"status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1", "port": 1}]}}),
        &["status.addresses[0].port"],
    );
}

#[test]
fn unknown_kinds_are_left_alone() {
    let obj = json!({"spec": {"anything": 1}});
    assert!(unknown_fields("stable.example.com", "v1", "CronTab", &obj).is_empty());
    let mut pruned = obj.clone();
    prune_unknown("stable.example.com", "v1", "CronTab", &mut pruned);
    assert_eq!(pruned, obj);
}

#[test]
fn prune_keeps_known_fields_in_order() {
    let mut obj = deployment(
        json!({"a": 1, "replicas": 2, "template": {"spec": pod_spec(json!({"name": "x", "bad": 1, "image": "i"}))}, "paused": false}),
    );
    prune_unknown("apps", "v1", "Deployment", &mut obj);
    assert_eq!(
        obj,
        deployment(
            json!({"replicas": 2, "template": {"spec": pod_spec(json!({"name": "x", "image": "i"}))}, "paused": false})
        )
    );
    let keys: Vec<&String> = obj["spec"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["replicas", "template", "paused"]);
}

#[test]
fn errors_are_capped_at_100() {
    let spec: serde_json::Map<String, Value> =
        (0..150).map(|i| (format!("f{i}"), json!(i))).collect();
    let found = unknown_fields("apps", "v1", "Deployment", &deployment(Value::Object(spec)));
    assert_eq!(found.len(), 100);
    assert_eq!(found[0], "unknown field \"spec.f0\"");
}

#[test]
fn index_lists_every_group_version() {
    let rs = crate::registry::builtins();
    let idx = v3_index(&rs);
    let paths = idx["paths"].as_object().expect("paths");
    for key in ["api/v1", "apis/apps/v1", "apis/discovery.k8s.io/v1"] {
        let url = paths[key]["serverRelativeURL"].as_str().expect("url");
        assert!(
            url.starts_with(&format!("/openapi/v3/{key}?hash=")),
            "{url}"
        );
    }
    assert_eq!(v3_index(&rs), idx, "hashes must be stable");
    let mut fewer = rs.clone();
    fewer.retain(|r| r.kind != "ReplicaSet");
    let other = v3_index(&fewer);
    assert_ne!(other["paths"]["apis/apps/v1"], idx["paths"]["apis/apps/v1"]);
    assert_eq!(other["paths"]["api/v1"], idx["paths"]["api/v1"]);
}

/// What kubectl's query_param_verifier_v3 does: the first PATCH operation
/// whose GVK matches decides, so every one of them must declare the param.
fn supports_field_validation(doc: &Value, group: &str, version: &str, kind: &str) -> bool {
    let want = json!({"group": group, "kind": kind, "version": version});
    let mut found = false;
    for item in doc["paths"].as_object().expect("paths").values() {
        let Some(op) = item.get("patch") else {
            continue;
        };
        if op["x-kubernetes-group-version-kind"] != want {
            continue;
        }
        let has = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "fieldValidation"));
        if !has {
            return false;
        }
        found = true;
    }
    found
}

#[test]
fn documents_support_field_validation_for_every_kind() {
    let rs = crate::registry::builtins();
    for r in &rs {
        let doc = v3_document(&r.group, &r.version, &rs, &BTreeMap::new()).expect("doc");
        assert!(
            supports_field_validation(&doc, &r.group, &r.version, &r.kind),
            "{}",
            r.kind
        );
        // explain: a component schema carries the kind's GVK.
        let want = json!({"group": r.group, "kind": r.kind, "version": r.version});
        let tagged = doc["components"]["schemas"]
            .as_object()
            .expect("schemas")
            .values()
            .any(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|a| a.contains(&want))
            });
        assert!(tagged, "{}", r.kind);
    }
    assert!(v3_document("batch", "v1", &rs, &BTreeMap::new()).is_none());
}

#[test]
fn document_refs_all_resolve() {
    let rs = crate::registry::builtins();
    for (g, v) in [("", "v1"), ("apps", "v1"), ("apiextensions.k8s.io", "v1")] {
        let doc = v3_document(g, v, &rs, &BTreeMap::new()).expect("doc");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut refs = Vec::new();
        document::collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            assert!(schemas.contains_key(&r), "{g}/{v}: dangling ref {r}");
        }
    }
}

#[test]
fn deployment_document_shape() {
    let rs = crate::registry::builtins();
    let doc = v3_document("apps", "v1", &rs, &BTreeMap::new()).expect("doc");
    assert_eq!(doc["openapi"], "3.0.0");
    let item = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"];
    assert_eq!(item["patch"]["x-kubernetes-action"], "patch");
    assert_eq!(
        item["patch"]["operationId"],
        "patchAppsV1NamespacedDeployment"
    );
    let names: Vec<&str> = item["patch"]["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["dryRun", "fieldManager", "fieldValidation", "force"]
    );
    let scale = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
    assert_eq!(
        scale["patch"]["x-kubernetes-group-version-kind"],
        json!({"group": "autoscaling", "kind": "Scale", "version": "v1"})
    );
    let list = &doc["paths"]["/apis/apps/v1/deployments"]["get"];
    assert_eq!(list["x-kubernetes-action"], "list");
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["io.k8s.api.apps.v1.DeploymentList"]["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "DeploymentList", "version": "v1"}])
    );
    assert!(
        schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]
            .get("rollingUpdate")
            .is_some()
    );
    assert!(schemas.get("io.k8s.api.autoscaling.v1.Scale").is_some());
    // Core kinds do not leak into the apps document.
    assert!(schemas.get("io.k8s.api.core.v1.Service").is_none());
}

#[test]
fn custom_resource_document() {
    let mut rs = crate::registry::builtins();
    rs.push(crate::registry::Resource {
        group: "stable.example.com".into(),
        version: "v1".into(),
        kind: "CronTab".into(),
        list_kind: "CronTabList".into(),
        plural: "crontabs".into(),
        singular: "crontab".into(),
        scope: crate::registry::Scope::Namespaced,
        short_names: vec!["ct".into()],
        categories: vec![],
        subresources: vec!["status".into(), "scale".into()],
        custom: true,
    });
    let mut custom = BTreeMap::new();
    custom.insert(
        "CronTab".to_string(),
        json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"cronSpec": {"type": "string"}}}}}),
    );
    assert!(v3_index(&rs)["paths"]
        .get("apis/stable.example.com/v1")
        .is_some());
    let doc = v3_document("stable.example.com", "v1", &rs, &custom).expect("doc");
    assert!(supports_field_validation(
        &doc,
        "stable.example.com",
        "v1",
        "CronTab"
    ));
    let schemas = &doc["components"]["schemas"];
    let ct = &schemas["com.example.stable.v1.CronTab"];
    assert_eq!(
        ct["x-kubernetes-group-version-kind"],
        json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
    );
    let props: Vec<&String> = ct["properties"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(props, ["apiVersion", "kind", "metadata", "spec"]);
    assert!(schemas
        .get("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        .is_some());
    assert!(schemas.get("com.example.stable.v1.CronTabList").is_some());
    let item =
        &doc["paths"]["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}/status"];
    assert_eq!(
        item["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/com.example.stable.v1.CronTab"
    );
    // Without a schema the kind still gets a (free-form) definition.
    let doc = v3_document("stable.example.com", "v1", &rs, &BTreeMap::new()).expect("doc");
    assert_eq!(
        doc["components"]["schemas"]["com.example.stable.v1.CronTab"]
            ["x-kubernetes-preserve-unknown-fields"],
        true
    );
}

#[test]
fn cluster_scoped_paths() {
    let rs = crate::registry::builtins();
    let doc = v3_document("", "v1", &rs, &BTreeMap::new()).expect("doc");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/api/v1/nodes/{name}"));
    assert!(paths.contains_key("/api/v1/namespaces/{name}/finalize"));
    assert!(paths.contains_key("/api/v1/namespaces/{namespace}/pods/{name}/log"));
    assert!(!paths.contains_key("/api/v1/namespaces/{namespace}/nodes"));
    assert_eq!(
        paths["/api/v1/namespaces/{namespace}/pods/{name}/binding"]["post"]
            ["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Binding", "version": "v1"})
    );
    assert_eq!(
        paths["/api/v1/nodes"]["get"]["operationId"],
        "listCoreV1Node"
    );
}

/// Generation cost, printed for the record (`--nocapture`).
#[test]
fn generation_cost() {
    let t = std::time::Instant::now();
    let first = catalog::catalog().schemas.len();
    let build = t.elapsed();
    let rs = crate::registry::builtins();
    let t = std::time::Instant::now();
    let doc = v3_document("", "v1", &rs, &BTreeMap::new()).expect("doc");
    let core = t.elapsed();
    eprintln!(
        "catalog: {first} schemas in {build:?} (0 if already built by another test); core/v1 document: {core:?}, {} bytes",
        doc.to_string().len()
    );
    let t = std::time::Instant::now();
    let again = v3_document("", "v1", &rs, &BTreeMap::new()).expect("doc");
    let second = t.elapsed();
    let t = std::time::Instant::now();
    let copy = again.clone();
    eprintln!(
        "second core/v1 document: {second:?}; plain clone: {:?}",
        t.elapsed()
    );
    assert_eq!(copy, doc);
    let t = std::time::Instant::now();
    let _ = catalog::catalog();
    assert!(t.elapsed() < std::time::Duration::from_millis(5));
}
