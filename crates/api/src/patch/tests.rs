use serde_json::{json, Value};

use super::*;

// === strategic merge patch ===

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "nginx", "image": "nginx:1.25",
                        "args": ["-g", "daemon off;"],
                        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"},
                                {"name": "C", "value": "3"}],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}]
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "tolerations": [{"key": "a", "operator": "Exists"}]
                }
            }
        },
        "status": {"replicas": 2}
    })
}

fn service() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web-svc", "namespace": "default"},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"},
                      {"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]
        }
    })
}

/// Applies `patch` to `original` and returns the value at `pointer` of the result.
fn smp_at(group: &str, kind: &str, original: &Value, patch: Value, pointer: &str) -> Value {
    let out = strategic_merge_patch(group, kind, original, &patch)
        .unwrap_or_else(|e| panic!("patch {patch} failed: {e:?}"));
    out.pointer(pointer).cloned().unwrap_or(Value::Null)
}

fn container_path(field: &str) -> String {
    format!("/spec/template/spec/containers/0/{field}")
}

#[test]
fn strategic_directives() {
    let d = deployment();
    let containers = "/spec/template/spec/containers";
    let env = container_path("env");
    let args = container_path("args");
    let image = container_path("image");
    let nginx = d
        .pointer("/spec/template/spec/containers/0")
        .cloned()
        .unwrap();
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, &str, Value)> = vec![
        ("null deletes a field (rollout resume)",
         json!({"spec": {"paused": null}}), "/spec/paused", Value::Null),
        ("scalar set (rollout pause)",
         json!({"spec": {"paused": true}}), "/spec/paused", json!(true)),
        ("maps merge",
         json!({"metadata": {"labels": {"tier": "fe"}}}), "/metadata/labels",
         json!({"app": "web", "tier": "fe"})),
        ("null deletes a map key",
         json!({"metadata": {"labels": {"app": null}}}), "/metadata/labels", json!({})),
        ("untagged list of structs is replaced",
         json!({"spec": {"template": {"spec": {"tolerations": [{"key": "b"}]}}}}),
         "/spec/template/spec/tolerations", json!([{"key": "b"}])),
        ("untagged list of scalars is replaced",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "args": ["x"]}]}}}}),
         &args, json!(["x"])),
        ("merge list matches by key and merges",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}),
         &image, json!("nginx:1.26")),
        ("merge list keeps untouched fields of the matched item",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.26"}]}}}}),
         &args, json!(["-g", "daemon off;"])),
        ("new merge-list item goes before the server-only items",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}),
         containers,
         json!([{"name": "side", "image": "busybox"}, nginx.clone()])),
        ("$patch: delete removes the matching item",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"name": "B", "$patch": "delete"}]}]}}}}),
         &env, json!([{"name": "A", "value": "1"}, {"name": "C", "value": "3"}])),
        ("$patch: replace inside a list replaces the whole list",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"$patch": "replace"}, {"name": "Z", "value": "9", "x": null}]}]}}}}),
         &env, json!([{"name": "Z", "value": "9"}])),
        ("$patch: replace alone empties the list",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"$patch": "replace"}]}]}}}}),
         &env, json!([])),
        ("patch order wins for named items, others interleave by original position",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"name": "C", "value": "c"}, {"name": "A", "value": "a"}]}]}}}}),
         &env, json!([{"name": "B", "value": "2"}, {"name": "C", "value": "c"}, {"name": "A", "value": "a"}])),
        ("$setElementOrder reorders object lists",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "$setElementOrder/env": [{"name": "C"}, {"name": "B"}, {"name": "A"}]}]}}}}),
         &env, json!([{"name": "C", "value": "3"}, {"name": "B", "value": "2"}, {"name": "A", "value": "1"}])),
        ("$setElementOrder: unmentioned items keep their original position relative to named ones",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "$setElementOrder/env": [{"name": "C"}, {"name": "A"}], "env": [{"name": "C", "value": "x"}]}]}}}}),
         &env, json!([{"name": "B", "value": "2"}, {"name": "C", "value": "x"}, {"name": "A", "value": "1"}])),
        ("$setElementOrder places a new item where it is named",
         json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "$setElementOrder/env": [{"name": "A"}, {"name": "N"}, {"name": "B"}, {"name": "C"}], "env": [{"name": "N", "value": "n"}]}]}}}}),
         &env, json!([{"name": "A", "value": "1"}, {"name": "N", "value": "n"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}])),
        ("$retainKeys drops unlisted keys of a union (strategy switch)",
         json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}}),
         "/spec/strategy", json!({"type": "Recreate"})),
        ("$retainKeys inside a merge,retainKeys list item (volume source change)",
         json!({"spec": {"template": {"spec": {"volumes": [{"$retainKeys": ["hostPath", "name"], "emptyDir": null, "hostPath": {"path": "/tmp"}, "name": "data"}]}}}}),
         "/spec/template/spec/volumes", json!([{"name": "data", "hostPath": {"path": "/tmp"}}])),
        ("$patch: replace inside a map replaces it",
         json!({"spec": {"selector": {"$patch": "replace", "matchLabels": {"x": "y"}}}}),
         "/spec/selector", json!({"matchLabels": {"x": "y"}})),
        ("$patch: delete inside a map leaves it empty",
         json!({"spec": {"selector": {"$patch": "delete"}}}), "/spec/selector", json!({})),
        ("a $patch map for an absent field adds nothing",
         json!({"spec": {"minReadySeconds": {"$patch": "delete"}}}), "/spec/minReadySeconds", Value::Null),
        ("a value of another type replaces the field",
         json!({"spec": {"replicas": {"a": 1}}}), "/spec/replicas", json!({"a": 1})),
        ("new fields lose nested nulls and directives",
         json!({"spec": {"template": {"spec": {"nodeSelector": {"a": "1", "b": null, "$retainKeys": ["a"]}}}}}),
         "/spec/template/spec/nodeSelector", json!({"a": "1"})),
        ("list removed entirely with null",
         json!({"spec": {"template": {"spec": {"containers": [{"env": null, "name": "nginx"}]}}}}),
         &env, Value::Null),
        ("rollout restart adds a template annotation",
         json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-23T00:51:10Z"}}}}}),
         "/spec/template/metadata/annotations",
         json!({"kubectl.kubernetes.io/restartedAt": "2026-11-23T00:51:10Z"})),
        ("edit body with status merges both (the apiserver resets status afterwards)",
         json!({"spec": {"replicas": 6}, "status": {"replicas": 6}}), "/status/replicas", json!(6)),
        ("null patch is a no-op",
         Value::Null, "/spec/replicas", json!(2)),
    ];
    for (name, patch, pointer, want) in cases {
        assert_eq!(
            smp_at("apps", "Deployment", &d, patch, pointer),
            want,
            "{name}"
        );
    }
}

#[test]
fn strategic_primitive_lists() {
    let d = json!({"metadata": {"name": "x", "finalizers": ["a", "b", "c"]},
                   "spec": {"podCIDRs": ["10.0.0.0/24"]}});
    #[rustfmt::skip]
    let cases: Vec<(Value, Value)> = vec![
        (json!({"metadata": {"finalizers": ["d"]}}), json!(["d", "a", "b", "c"])),
        (json!({"metadata": {"finalizers": ["b", "d"]}}), json!(["a", "b", "d", "c"])),
        (json!({"metadata": {"finalizers": ["c", "a"]}}), json!(["b", "c", "a"])),
        (json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "zz"]}}), json!(["a", "c"])),
        (json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}}), json!(["c", "b", "a"])),
        // Items the order list names but the list lacks are ignored.
        (json!({"metadata": {"$setElementOrder/finalizers": ["c", "x", "a"]}}), json!(["b", "c", "a"])),
        (json!({"metadata": {"$setElementOrder/finalizers": ["a", "c", "d"], "finalizers": ["d"],
                             "$deleteFromPrimitiveList/finalizers": ["b"]}}), json!(["a", "c", "d"])),
        (json!({"metadata": {"finalizers": null}}), Value::Null),
    ];
    for (patch, want) in cases {
        assert_eq!(
            smp_at("", "Node", &d, patch.clone(), "/metadata/finalizers"),
            want,
            "{patch}"
        );
    }
    assert_eq!(
        smp_at(
            "",
            "Node",
            &d,
            json!({"spec": {"podCIDRs": ["fd00::/64"]}}),
            "/spec/podCIDRs"
        ),
        json!(["fd00::/64", "10.0.0.0/24"])
    );
}

#[test]
fn strategic_kubectl_bodies() {
    // `kubectl apply`: env value change under $setElementOrder (KUBE_API §8.1).
    let patch = json!({"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"replicas": 3, "template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"$setElementOrder/env": [{"name": "A"}], "env": [{"name": "A", "value": "2"}], "name": "nginx"}]}}}});
    let out = strategic_merge_patch("apps", "Deployment", &deployment(), &patch).unwrap();
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(
        out["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        json!("1")
    );
    assert_eq!(
        out.pointer(&container_path("env")).unwrap(),
        &json!([{"name": "A", "value": "2"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}])
    );

    // `kubectl apply`: container port 80 -> 8080.
    let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"$setElementOrder/ports": [{"containerPort": 8080}], "name": "nginx",
        "ports": [{"containerPort": 8080}, {"$patch": "delete", "containerPort": 80}]}]}}}});
    assert_eq!(
        smp_at(
            "apps",
            "Deployment",
            &deployment(),
            patch,
            &container_path("ports")
        ),
        json!([{"containerPort": 8080}])
    );

    // `kubectl apply`: strategy switch to Recreate.
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": null, "type": "Recreate"}}});
    assert_eq!(
        smp_at("apps", "Deployment", &deployment(), patch, "/spec/strategy"),
        json!({"type": "Recreate"})
    );

    // `kubectl apply`: service port 443 removed, 9100 added, 80 retargeted.
    let patch = json!({"spec": {"$setElementOrder/ports": [{"port": 80}, {"port": 9100}],
        "ports": [{"port": 80, "targetPort": 9090}, {"name": "metrics", "port": 9100},
                  {"$patch": "delete", "port": 443}]}});
    assert_eq!(
        smp_at("", "Service", &service(), patch, "/spec/ports"),
        json!([{"name": "http", "port": 80, "targetPort": 9090, "protocol": "TCP"},
               {"name": "metrics", "port": 9100}])
    );

    // `kubectl set image deployment/web nginx=nginx:1.26`.
    let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
        "containers": [{"image": "nginx:1.26", "name": "nginx"}]}}}});
    let out = strategic_merge_patch("apps", "Deployment", &deployment(), &patch).unwrap();
    let mut want = deployment();
    want["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    assert_eq!(out, want);

    // `kubectl patch svc web-svc -p '{"spec":{"type":"LoadBalancer"}}'`.
    assert_eq!(
        smp_at(
            "",
            "Service",
            &service(),
            json!({"spec": {"type": "LoadBalancer"}}),
            "/spec/type"
        ),
        json!("LoadBalancer")
    );
}

#[test]
fn strategic_other_kinds() {
    let pod = json!({"metadata": {"name": "p", "ownerReferences": [{"uid": "1", "name": "rs"}]},
        "spec": {"containers": [{"name": "c", "volumeMounts": [{"mountPath": "/a", "name": "v"}]}],
                 "imagePullSecrets": [{"name": "s1"}], "hostAliases": [{"ip": "1.1.1.1", "hostnames": ["a"]}]},
        "status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "Scheduled", "status": "True"}],
                   "podIPs": [{"ip": "10.0.0.1"}]}});
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Value, &str, Value)> = vec![
        ("", "Pod", json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
         "/status/conditions", json!([{"type": "Ready", "status": "True"}, {"type": "Scheduled", "status": "True"}])),
        ("", "Pod", json!({"metadata": {"ownerReferences": [{"uid": "1", "controller": true}]}}),
         "/metadata/ownerReferences", json!([{"uid": "1", "name": "rs", "controller": true}])),
        ("", "Pod", json!({"spec": {"imagePullSecrets": [{"name": "s2"}]}}),
         "/spec/imagePullSecrets", json!([{"name": "s2"}, {"name": "s1"}])),
        ("", "Pod", json!({"spec": {"hostAliases": [{"ip": "1.1.1.1", "hostnames": ["b"]}]}}),
         "/spec/hostAliases", json!([{"ip": "1.1.1.1", "hostnames": ["b"]}])),
        ("", "Pod", json!({"spec": {"containers": [{"name": "c", "volumeMounts": [{"mountPath": "/a", "readOnly": true}]}]}}),
         "/spec/containers/0/volumeMounts", json!([{"mountPath": "/a", "name": "v", "readOnly": true}])),
        ("", "Pod", json!({"status": {"podIPs": [{"ip": "fd00::1"}]}}),
         "/status/podIPs", json!([{"ip": "fd00::1"}, {"ip": "10.0.0.1"}])),
    ];
    for (group, kind, patch, pointer, want) in cases {
        assert_eq!(
            smp_at(group, kind, &pod, patch.clone(), pointer),
            want,
            "{kind} {patch}"
        );
    }

    // Kinds with only metadata tags: maps merge, lists replace.
    let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
    assert_eq!(
        smp_at(
            "",
            "ConfigMap",
            &cm,
            json!({"data": {"b": null, "c": "3"}}),
            "/data"
        ),
        json!({"a": "1", "c": "3"})
    );
    let slice = json!({"metadata": {"name": "s"}, "endpoints": [{"addresses": ["10.0.0.1"]}]});
    assert_eq!(
        smp_at(
            "discovery.k8s.io",
            "EndpointSlice",
            &slice,
            json!({"endpoints": [{"addresses": ["10.0.0.2"]}]}),
            "/endpoints"
        ),
        json!([{"addresses": ["10.0.0.2"]}])
    );
    let sa = json!({"metadata": {"name": "default"}, "secrets": [{"name": "a"}]});
    assert_eq!(
        smp_at(
            "",
            "ServiceAccount",
            &sa,
            json!({"secrets": [{"name": "b"}]}),
            "/secrets"
        ),
        json!([{"name": "b"}, {"name": "a"}])
    );
    let lease = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}});
    assert_eq!(
        smp_at(
            "coordination.k8s.io",
            "Lease",
            &lease,
            json!({"spec": {"holderIdentity": "b"}}),
            "/spec/holderIdentity"
        ),
        json!("b")
    );
}

#[test]
fn strategic_errors() {
    let mut d = deployment();
    d["metadata"]["finalizers"] = json!([]);
    let generic_422 = "the server rejected our request due to an error in our request";
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, Value, u16, &str, &str)> = vec![
        ("stable.example.com", "CronTab", json!({"spec": {}}), 415, "UnsupportedMediaType",
         "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"image": "nginx:1.25"}]}}}}),
         500, "", "map: map[image:nginx:1.25] does not contain declared merge key: name"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"$patch": "delete", "value": "1"}]}]}}}}),
         500, "", "map: map[$patch:delete value:1] does not contain declared merge key: name"),
        ("apps", "Deployment", json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}}),
         400, "BadRequest", "invalid patch format of retainKeys"),
        ("apps", "Deployment", json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
         400, "BadRequest", "invalid patch format of retainKeys"),
        ("apps", "Deployment", json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
         400, "BadRequest", "invalid patch format of primitive list"),
        ("apps", "Deployment", json!({"metadata": {"$setElementOrderfinalizers": ["a"]}}),
         400, "BadRequest", "invalid patch format of setElementOrder list"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "args": [["x"]]}]}}}}),
         200, "", ""),
        ("apps", "Deployment", json!({"metadata": {"finalizers": [["x"]]}}),
         422, "Invalid", generic_422),
        ("apps", "Deployment", json!({"spec": {"selector": {"$patch": "foo", "a": 1}}}),
         500, "", "unknown patch type: foo in map: map[$patch:foo a:1]"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"$patch": "merge"}]}]}}}}),
         500, "", "merging lists cannot yet be specified in the patch"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx",
            "$setElementOrder/env": [{"name": "A"}, {"name": "B"}], "env": [{"name": "B", "value": "x"}, {"name": "A", "value": "y"}]}]}}}}),
         500, "", "the order in patch list:\n[map[name:B value:x] map[name:A value:y]]\n doesn't match $setElementOrder list:\n[map[name:A] map[name:B]]"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"image": "x"}]}}}}),
         500, "", "map: map[image:x] does not contain declared merge key: name"),
        ("apps", "Deployment", json!({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [1]}]}}}}),
         500, "", "list element types are not identical: [[map[name:A value:1] map[name:B value:2] map[name:C value:3]] [1]]"),
    ];
    for (group, kind, patch, code, reason, message) in cases {
        let got = strategic_merge_patch(group, kind, &d, &patch);
        if code == 200 {
            assert!(got.is_ok(), "{patch}: {got:?}");
            continue;
        }
        let want = PatchError {
            code,
            reason,
            message: message.to_string(),
        };
        assert_eq!(got, Err(want), "{patch}");
    }
    let err = strategic_merge_patch("apps", "Deployment", &d, &json!([1])).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (
            400,
            "json: cannot unmarshal array into Go value of type map[string]interface {}"
        )
    );
}

// === JSON merge patch ===

#[test]
fn merge_patch_cases() {
    #[rustfmt::skip]
    let cases: Vec<(Value, Value, Value)> = vec![
        // `kubectl scale` on /scale.
        (json!({"spec": {"replicas": 2}, "status": {"replicas": 2}}), json!({"spec": {"replicas": 5}}),
         json!({"spec": {"replicas": 5}, "status": {"replicas": 2}})),
        // RFC 7386 appendix A.
        (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
        (json!({"a": "b"}), json!({"a": null}), json!({})),
        (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
        (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
        (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
        (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
        (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a": "b"}), json!(["c"]), json!(["c"])),
        (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
        (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
        (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        // Arrays replace wholesale, `patch --type=merge` on a service type.
        (json!({"spec": {"type": "ClusterIP", "ports": [{"port": 80}, {"port": 443}]}}),
         json!({"spec": {"type": "NodePort", "ports": [{"port": 8080}]}}),
         json!({"spec": {"type": "NodePort", "ports": [{"port": 8080}]}})),
        // An object replacing a scalar is taken with its nulls pruned.
        (json!({"a": 1}), json!({"a": {"x": null, "y": 2}}), json!({"a": {"y": 2}})),
    ];
    for (target, patch, want) in cases {
        assert_eq!(
            json_merge_patch(&target, &patch),
            want,
            "{target} + {patch}"
        );
    }
    // Merging keeps the position of existing keys.
    let out = json_merge_patch(
        &json!({"a": 1, "b": 2, "c": 3}),
        &json!({"a": null, "b": 5}),
    );
    assert_eq!(serde_json::to_string(&out).unwrap(), r#"{"b":5,"c":3}"#);
}

// === JSON patch ===

fn jp(target: &Value, ops: Value) -> Result<Value, json_patch::Failure> {
    json_patch::apply(target, &ops)
}

#[test]
fn json_patch_ops() {
    let doc = json!({"metadata": {"name": "x", "annotations": {"a/b": "1", "m~n": "2"}},
                     "spec": {"type": "ClusterIP", "list": [1, 2, 3]}});
    #[rustfmt::skip]
    let cases: Vec<(Value, &str, Value)> = vec![
        (json!([{"op": "replace", "path": "/spec/type", "value": "NodePort"}]), "/spec/type", json!("NodePort")),
        (json!([{"op": "add", "path": "/spec/new", "value": {"a": 1}}]), "/spec/new", json!({"a": 1})),
        (json!([{"op": "add", "path": "/spec/type", "value": "X"}]), "/spec/type", json!("X")),
        (json!([{"op": "add", "path": "/spec/list/-", "value": 4}]), "/spec/list", json!([1, 2, 3, 4])),
        (json!([{"op": "add", "path": "/spec/list/0", "value": 0}]), "/spec/list", json!([0, 1, 2, 3])),
        (json!([{"op": "add", "path": "/spec/list/3", "value": 4}]), "/spec/list", json!([1, 2, 3, 4])),
        (json!([{"op": "add", "path": "/spec/list/-1", "value": 9}]), "/spec/list", json!([1, 2, 3, 9])),
        (json!([{"op": "remove", "path": "/spec/list/1"}]), "/spec/list", json!([1, 3])),
        (json!([{"op": "remove", "path": "/spec/list/-1"}]), "/spec/list", json!([1, 2])),
        (json!([{"op": "replace", "path": "/spec/list/0", "value": 7}]), "/spec/list", json!([7, 2, 3])),
        (json!([{"op": "remove", "path": "/metadata/annotations/a~1b"}]), "/metadata/annotations", json!({"m~n": "2"})),
        (json!([{"op": "replace", "path": "/metadata/annotations/m~0n", "value": "3"}]), "/metadata/annotations/m~0n", json!("3")),
        (json!([{"op": "move", "from": "/spec/type", "path": "/spec/kind"}]), "/spec", json!({"list": [1, 2, 3], "kind": "ClusterIP"})),
        (json!([{"op": "copy", "from": "/spec/list", "path": "/spec/copy"}]), "/spec/copy", json!([1, 2, 3])),
        (json!([{"op": "test", "path": "/spec/type", "value": "ClusterIP"}, {"op": "add", "path": "/spec/t", "value": true}]), "/spec/t", json!(true)),
        (json!([{"op": "add", "path": "/spec/n"}]), "/spec/n", Value::Null),
        (Value::Null, "/spec/type", json!("ClusterIP")),
    ];
    for (ops, pointer, want) in cases {
        let out = jp(&doc, ops.clone()).unwrap_or_else(|e| panic!("{ops}: {e:?}"));
        assert_eq!(
            out.pointer(pointer).cloned().unwrap_or(Value::Null),
            want,
            "{ops}"
        );
    }
}

#[test]
fn json_patch_failures() {
    let doc = json!({"spec": {"type": "ClusterIP", "list": [1, 2]}});
    #[rustfmt::skip]
    let cases: Vec<(Value, json_patch::Failure)> = vec![
        (json!([{"op": "replace", "path": "/spec/foo", "value": 1}]),
         json_patch::Failure::Apply("error in replace for path: '/spec/foo': unable to get nonexistent key: foo: missing value".into())),
        (json!([{"op": "replace", "path": "/nope/foo", "value": 1}]),
         json_patch::Failure::Apply("replace operation does not apply: doc is missing path: /nope/foo: missing value".into())),
        (json!([{"op": "remove", "path": "/spec/foo"}]),
         json_patch::Failure::Apply("error in remove for path: '/spec/foo': Unable to remove nonexistent key: foo: missing value".into())),
        (json!([{"op": "add", "path": "/a/b", "value": 1}]),
         json_patch::Failure::Apply("add operation does not apply: doc is missing path: \"/a/b\": missing value".into())),
        (json!([{"op": "add", "path": "/spec/list/5", "value": 1}]),
         json_patch::Failure::Apply("error in add for path: '/spec/list/5': Unable to access invalid index: 5: invalid index referenced".into())),
        (json!([{"op": "test", "path": "/spec/type", "value": "NodePort"}]),
         json_patch::Failure::Apply("testing value /spec/type failed: test failed".into())),
        (json!([{"op": "frob", "path": "/spec"}]), json_patch::Failure::Apply("Unexpected kind: frob".into())),
        (json!([{"op": "add", "value": 1}]), json_patch::Failure::Apply("add operation failed to decode path: missing value".into())),
        (json!({"op": "add"}), json_patch::Failure::BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into())),
        (json!(["add"]), json_patch::Failure::BadRequest("json: cannot unmarshal string into Go value of type jsonpatch.Operation".into())),
    ];
    for (ops, want) in cases {
        assert_eq!(jp(&doc, ops.clone()), Err(want), "{ops}");
    }

    // What the apiserver answers.
    let err = json_patch(
        &doc,
        &json!([{"op": "replace", "path": "/spec/foo", "value": 1}]),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PatchError {
            code: 422,
            reason: "Invalid",
            message: "the server rejected our request due to an error in our request".into()
        }
    );
    let err = json_patch(&doc, &json!("x")).unwrap_err();
    assert_eq!((err.code, err.reason), (400, "BadRequest"));
    let many = Value::Array(vec![json!({"op": "test", "path": "/spec"}); 10_001]);
    let err = json_patch(&doc, &many).unwrap_err();
    assert_eq!(
        (err.code, err.message.as_str()),
        (413, "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001")
    );
    // A failed operation leaves nothing half-applied: the caller keeps its own copy.
    assert!(json_patch(
        &doc,
        &json!([{"op": "add", "path": "/x", "value": 1}, {"op": "remove", "path": "/y"}])
    )
    .is_err());
}

#[test]
fn json_patch_rollout_undo() {
    let mut d = deployment();
    d["metadata"]["annotations"] = json!({
        "deployment.kubernetes.io/revision": "2", "kubernetes.io/change-cause": "v2", "other": "x"});
    let template = json!({"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.24"}]}});
    let annotations =
        json!({"deployment.kubernetes.io/revision": "2", "kubernetes.io/change-cause": "v1"});
    let ops = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    let out = json_patch(&d, &ops).unwrap();
    assert_eq!(out["spec"]["template"], template);
    assert_eq!(out["metadata"]["annotations"], annotations);
    assert_eq!(out["spec"]["replicas"], json!(2));
}
