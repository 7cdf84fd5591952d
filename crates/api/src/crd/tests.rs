use serde_json::{json, Value};

use super::gofmt::go_float;
use super::regex::{Regex, RegexError};
use super::*;
use crate::registry::Scope;

// === custom objects ===

fn obj(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w1", "namespace": "default"}, "spec": spec})
}

/// A root schema whose `spec` is `spec_schema`.
fn root(spec_schema: Value) -> Value {
    json!({"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"}, "spec": spec_schema}})
}

fn run(schema: &Value, mut o: Value) -> (Value, Vec<String>) {
    let errs = prune_default_validate(schema, &mut o);
    (o, errs.iter().map(ToString::to_string).collect())
}

/// Defaulting/pruning: `spec` in → `spec` out, no errors.
fn check_spec(spec_schema: Value, spec_in: Value, spec_out: Value) {
    let (o, errs) = run(&root(spec_schema), obj(spec_in));
    assert_eq!(errs, Vec::<String>::new());
    assert_eq!(o["spec"], spec_out);
}

/// Validation: `spec` in → exactly these error lines.
fn check_errs(spec_schema: Value, spec_in: Value, want: &[&str]) {
    let (_, errs) = run(&root(spec_schema), obj(spec_in));
    assert_eq!(errs, want);
}

fn props(p: Value) -> Value {
    json!({"type": "object", "properties": p})
}

#[test]
fn defaults() {
    let cases: Vec<(Value, Value, Value)> = vec![
        // top level of spec
        (
            props(json!({"replicas": {"type": "integer", "default": 1}})),
            json!({}),
            json!({"replicas": 1}),
        ),
        // an explicit value wins
        (
            props(json!({"replicas": {"type": "integer", "default": 1}})),
            json!({"replicas": 5}),
            json!({"replicas": 5}),
        ),
        // a defaulted object is itself defaulted
        (
            props(json!({"strategy": {"type": "object", "default": {},
                "properties": {"type": {"type": "string", "default": "RollingUpdate"}}}})),
            json!({}),
            json!({"strategy": {"type": "RollingUpdate"}}),
        ),
        // inside array items
        (
            props(
                json!({"ports": {"type": "array", "items": {"type": "object",
                "properties": {"name": {"type": "string"},
                               "protocol": {"type": "string", "default": "TCP"}}}}}),
            ),
            json!({"ports": [{"name": "a"}, {"name": "b", "protocol": "UDP"}]}),
            json!({"ports": [{"name": "a", "protocol": "TCP"}, {"name": "b", "protocol": "UDP"}]}),
        ),
        // inside additionalProperties values
        (
            props(
                json!({"limits": {"type": "object", "additionalProperties": {
                "type": "object", "properties": {"max": {"type": "integer", "default": 10}}}}}),
            ),
            json!({"limits": {"cpu": {}, "mem": {"max": 3}}}),
            json!({"limits": {"cpu": {"max": 10}, "mem": {"max": 3}}}),
        ),
        // null in a non-nullable defaulted field is replaced
        (
            props(json!({"mode": {"type": "string", "default": "fast"}})),
            json!({"mode": null}),
            json!({"mode": "fast"}),
        ),
        // null in a nullable field is kept and not defaulted
        (
            props(json!({"mode": {"type": "string", "nullable": true, "default": "fast"}})),
            json!({"mode": null}),
            json!({"mode": null}),
        ),
        // null in a non-nullable field without default is dropped
        (
            props(json!({"mode": {"type": "string"}})),
            json!({"mode": null, "keep": 1}),
            json!({}),
        ),
        // null array items get the items default
        (
            props(json!({"list": {"type": "array", "items": {"type": "string", "default": "x"}}})),
            json!({"list": ["a", null]}),
            json!({"list": ["a", "x"]}),
        ),
        // deep nesting: array of objects holding an object with a default
        (
            props(
                json!({"rules": {"type": "array", "items": {"type": "object", "properties": {
                "backend": {"type": "object", "default": {"port": 80},
                    "properties": {"port": {"type": "integer"},
                                   "weight": {"type": "integer", "default": 1}}}}}}}),
            ),
            json!({"rules": [{}, {"backend": {"port": 8080}}]}),
            json!({"rules": [{"backend": {"port": 80, "weight": 1}},
                             {"backend": {"port": 8080, "weight": 1}}]}),
        ),
    ];
    for (schema, input, want) in cases {
        check_spec(schema, input, want);
    }
}

#[test]
fn pruning() {
    let cases: Vec<(Value, Value, Value)> = vec![
        // unknown nested field
        (
            props(json!({"a": {"type": "string"}})),
            json!({"a": "x", "b": "y"}),
            json!({"a": "x"}),
        ),
        // preserve-unknown-fields keeps unknown keys but still prunes known children
        (
            json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
                   "properties": {"known": {"type": "object",
                       "properties": {"a": {"type": "string"}}}}}),
            json!({"other": {"deep": 1}, "known": {"a": "x", "junk": 2}}),
            json!({"other": {"deep": 1}, "known": {"a": "x"}}),
        ),
        // array items are pruned with the items schema
        (
            props(
                json!({"list": {"type": "array", "items": props(json!({"a": {"type": "string"}}))}}),
            ),
            json!({"list": [{"a": "1", "z": 0}, {"z": 1}]}),
            json!({"list": [{"a": "1"}, {}]}),
        ),
        // embedded resources keep apiVersion/kind/metadata, prune the rest
        (
            props(
                json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true,
                "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}),
            ),
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}},
                                "spec": {"anything": true}, "status": {}}}),
            json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}},
                                "spec": {"anything": true}}}),
        ),
        // additionalProperties: true keeps map values as they are
        (
            props(json!({"labels": {"type": "object", "additionalProperties": true}})),
            json!({"labels": {"a": {"b": 1}}}),
            json!({"labels": {"a": {"b": 1}}}),
        ),
    ];
    for (schema, input, want) in cases {
        check_spec(schema, input, want);
    }
}

#[test]
fn root_pruning_keeps_type_and_object_meta() {
    let schema = root(props(json!({})));
    let mut o = obj(json!({"x": 1}));
    o["status"] = json!({"ready": true});
    o["metadata"]["labels"] = json!({"app": "w"});
    let errs = prune_default_validate(&schema, &mut o);
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(
        o,
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
               "metadata": {"name": "w1", "namespace": "default", "labels": {"app": "w"}},
               "spec": {}})
    );

    let preserve = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true});
    let mut o = obj(json!({"x": 1}));
    assert!(prune_default_validate(&preserve, &mut o).is_empty());
    assert_eq!(o["spec"], json!({"x": 1}));
}

#[test]
fn unknown_field_paths() {
    let schema = root(props(json!({
        "items": {"type": "array", "items": props(json!({"a": {"type": "string"}}))},
        "map": {"type": "object", "additionalProperties": props(json!({}))},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
    })));
    let mut o = obj(json!({"bar": 1, "items": [{"a": "x", "x": 1}],
                           "map": {"k": {"y": 2}}, "free": {"z": 3}}));
    o["foo"] = json!(true);
    assert_eq!(
        unknown_fields(&schema, &o),
        vec![
            r#"unknown field "spec.bar""#,
            r#"unknown field "spec.items[0].x""#,
            r#"unknown field "spec.map.k.y""#,
            r#"unknown field "foo""#,
        ]
    );
    // Computed on a copy: the object itself is untouched.
    assert_eq!(o["foo"], json!(true));
}

#[test]
fn validation_messages() {
    let int = |extra: Value| {
        let mut s = json!({"type": "integer"});
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        props(json!({ "replicas": s }))
    };
    let string = |extra: Value| {
        let mut s = json!({"type": "string"});
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        props(json!({ "name": s }))
    };
    let array = |extra: Value| {
        let mut s = json!({"type": "array", "items": {"type": "string"}});
        if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        props(json!({ "items": s }))
    };
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (int(json!({})), json!({"replicas": "3"}),
         vec![r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#]),
        (int(json!({})), json!({"replicas": 3.5}),
         vec![r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#]),
        (int(json!({})), json!({"replicas": 3.0}), vec![]),
        (props(json!({"ratio": {"type": "number"}})), json!({"ratio": 3}), vec![]),
        (int(json!({"minimum": 1})), json!({"replicas": 0}),
         vec!["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"]),
        (int(json!({"minimum": 1, "exclusiveMinimum": true})), json!({"replicas": 1}),
         vec!["spec.replicas: Invalid value: 1: spec.replicas in body should be greater than 1"]),
        (int(json!({"maximum": 10})), json!({"replicas": 11}),
         vec!["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"]),
        (int(json!({"maximum": 10, "exclusiveMaximum": true})), json!({"replicas": 10}),
         vec!["spec.replicas: Invalid value: 10: spec.replicas in body should be less than 10"]),
        (props(json!({"ratio": {"type": "number", "maximum": 0.5}})), json!({"ratio": 0.75}),
         vec!["spec.ratio: Invalid value: 0.75: spec.ratio in body should be less than or equal to 0.5"]),
        (int(json!({"multipleOf": 5})), json!({"replicas": 7}),
         vec!["spec.replicas: Invalid value: 7: spec.replicas in body should be a multiple of 5"]),
        (string(json!({"minLength": 3})), json!({"name": "ab"}),
         vec![r#"spec.name: Invalid value: "ab": spec.name in body should be at least 3 chars long"#]),
        (string(json!({"maxLength": 5})), json!({"name": "abcdef"}),
         vec!["spec.name: Too long: may not be more than 5 bytes"]),
        (string(json!({"pattern": "^[a-z]+$"})), json!({"name": "ABC"}),
         vec![r#"spec.name: Invalid value: "ABC": spec.name in body should match '^[a-z]+$'"#]),
        (string(json!({"pattern": "^[a-z]+$"})), json!({"name": "abc"}), vec![]),
        (string(json!({"enum": ["red", "green"]})), json!({"name": "purple"}),
         vec![r#"spec.name: Unsupported value: "purple": supported values: "red", "green""#]),
        (int(json!({"enum": [1, 2]})), json!({"replicas": 3}),
         vec![r#"spec.replicas: Unsupported value: 3: supported values: "1", "2""#]),
        (string(json!({"format": "date-time"})), json!({"name": "yesterday"}),
         vec![r#"spec.name: Invalid value: "yesterday": spec.name in body must be of type date-time: "yesterday""#]),
        (string(json!({"format": "date-time"})), json!({"name": "2024-12-11T10:00:00Z"}), vec![]),
        (array(json!({"minItems": 1})), json!({"items": []}),
         vec!["spec.items: Invalid value: 0: spec.items in body should have at least 1 items"]),
        (array(json!({"maxItems": 2})), json!({"items": ["a", "b", "c"]}),
         vec!["spec.items: Too many: 3: must have at most 2 items"]),
        (array(json!({"uniqueItems": true})), json!({"items": ["a", "a"]}),
         vec![r#"spec.items: Invalid value: "": spec.items in body shouldn't contain duplicates"#]),
        (array(json!({})), json!({"items": ["a", null]}),
         vec![r#"spec.items[1]: Invalid value: "null": spec.items[1] in body must be of type string: "null""#]),
        (props(json!({"list": {"type": "array", "items": {"type": "string", "nullable": true}}})),
         json!({"list": [null]}), vec![]),
        (props(json!({"m": {"type": "object", "minProperties": 2,
                            "additionalProperties": {"type": "string"}}})),
         json!({"m": {"a": "x"}}),
         vec!["spec.m: Invalid value: 1: spec.m in body should have at least 2 properties"]),
        (props(json!({"m": {"type": "object", "maxProperties": 1,
                            "additionalProperties": {"type": "string"}}})),
         json!({"m": {"a": "x", "b": "y"}}),
         vec!["spec.m: Too many: 2: must have at most 1 item"]),
        (props(json!({"m": {"type": "object", "additionalProperties": {"type": "string"}}})),
         json!({"m": {"a": 1}}),
         vec![r#"spec.m.a: Invalid value: "integer": spec.m.a in body must be of type string: "integer""#]),
        (json!({"type": "object", "required": ["image"], "properties": {"image": {"type": "string"}}}),
         json!({}), vec!["spec.image: Required value"]),
        (props(json!({"containers": {"type": "array", "items": {"type": "object",
            "required": ["name"], "properties": {"name": {"type": "string"}}}}})),
         json!({"containers": [{"name": "a"}, {}]}),
         vec!["spec.containers[1].name: Required value"]),
        (props(json!({"port": {"x-kubernetes-int-or-string": true}})), json!({"port": true}),
         vec![r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#]),
        (props(json!({"port": {"x-kubernetes-int-or-string": true,
                               "anyOf": [{"type": "integer"}, {"type": "string"}]}})),
         json!({"port": "http"}), vec![]),
        (props(json!({"port": {"x-kubernetes-int-or-string": true}})), json!({"port": 80}), vec![]),
        (props(json!({"tags": {"type": "array", "x-kubernetes-list-type": "set",
                               "items": {"type": "string"}}})),
         json!({"tags": ["a", "b", "a", "a"]}),
         vec![r#"spec.tags[2]: Duplicate value: "a""#]),
        (props(json!({"ports": {"type": "array", "x-kubernetes-list-type": "map",
                                "x-kubernetes-list-map-keys": ["name"],
                                "items": props(json!({"name": {"type": "string"},
                                                      "port": {"type": "integer"}}))}})),
         json!({"ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}),
         vec![r#"spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}"#]),
        (props(json!({"template": {"type": "object", "x-kubernetes-embedded-resource": true,
                                   "x-kubernetes-preserve-unknown-fields": true}})),
         json!({"template": {"apiVersion": "v1"}}),
         vec!["spec.template.kind: Required value: must not be empty"]),
    ];
    for (schema, input, want) in cases {
        check_errs(schema, input, &want);
    }
}

#[test]
fn metadata_name_is_validated() {
    let schema = root(props(json!({})));
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"name": "ok-name.x"}), vec![]),
        (
            json!({"name": "Bad_Name"}),
            vec![
                r#"metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
            ],
        ),
        (
            json!({}),
            vec!["metadata.name: Required value: name or generateName is required"],
        ),
        (json!({"generateName": "web-"}), vec![]),
    ];
    for (meta, want) in cases {
        let mut o = obj(json!({}));
        o["metadata"] = meta;
        let (_, errs) = run(&schema, o);
        assert_eq!(errs, want);
    }
}

// === CRDs ===

fn crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                      "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": root(props(json!({
                    "replicas": {"type": "integer", "default": 1}})))},
                "subresources": {"status": {}, "scale": {
                    "specReplicasPath": ".spec.replicas",
                    "statusReplicasPath": ".status.replicas",
                    "labelSelectorPath": ".status.selector"}},
                "additionalPrinterColumns": [{"name": "Replicas", "type": "integer",
                                              "jsonPath": ".spec.replicas"}]
            }]
        }
    })
}

fn set(v: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
    match v.pointer_mut(parent).and_then(Value::as_object_mut) {
        Some(obj) => {
            obj.insert(key.to_string(), new);
        }
        None => panic!("no {parent}"),
    }
}

const SCHEMA: &str = "/spec/versions/0/schema/openAPIV3Schema";
const SPEC_PROPS: &str = "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties";

fn check_crd(edits: &[(&str, Value)], want: &[&str]) {
    let mut c = crd();
    for (p, v) in edits {
        set(&mut c, p, v.clone());
    }
    let errs: Vec<String> = validate_crd(&c, None)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errs, want, "edits {edits:?}");
}

#[test]
fn crd_validation() {
    let dns1035 = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
    let plural_err = format!(r#"spec.names.plural: Invalid value: "Widgets": {dns1035}"#);
    type Case<'a> = (Vec<(&'a str, Value)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec![], vec![]),
        (vec![("/metadata/name", json!("gadgets.example.com"))],
         vec![r#"metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group"#]),
        (vec![("/spec/group", json!("example")), ("/metadata/name", json!("widgets.example"))],
         vec![r#"spec.group: Invalid value: "example": should be a domain with at least one dot"#]),
        (vec![("/spec/scope", json!("Global"))],
         vec![r#"spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced""#]),
        (vec![("/spec/names/listKind", json!("Widget"))],
         vec![r#"spec.names.listKind: Invalid value: "Widget": kind and listKind may not be the same"#]),
        (vec![("/spec/names/plural", json!("Widgets")), ("/metadata/name", json!("Widgets.example.com"))],
         vec![
            r#"metadata.name: Invalid value: "Widgets.example.com": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"#,
            plural_err.as_str(),
         ]),
        (vec![("/spec/names/kind", json!(""))],
         vec!["spec.names.kind: Required value"]),
        (vec![("/spec/versions/0/schema", json!({}))],
         vec!["spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"]),
        (vec![(SPEC_PROPS, json!({"replicas": {"minimum": 1}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].type: Required value: must not be empty for specified object fields"]),
        (vec![(SPEC_PROPS, json!({"list": {"type": "array"}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items: Required value: must be specified"]),
        (vec![(SPEC_PROPS, json!({"list": {"type": "array", "items": {"description": "x"}}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[list].items.type: Required value: must not be empty for specified array items"]),
        (vec![(SCHEMA, json!({"properties": {}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root"]),
        (vec![(SCHEMA, json!({"type": "object", "additionalProperties": {"type": "string"}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.additionalProperties: Forbidden: must not be used at the root"]),
        (vec![(SPEC_PROPS, json!({"tags": {"type": "array", "uniqueItems": true, "items": {"type": "string"}}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].uniqueItems: Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic"]),
        (vec![(SPEC_PROPS, json!({"x": {"$ref": "#/definitions/x"}}))],
         vec![
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].$ref: Forbidden: $ref is not supported",
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].type: Required value: must not be empty for specified object fields",
         ]),
        (vec![(SPEC_PROPS, json!({"name": {"type": "string", "pattern": "[a-z"}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[name].pattern: Invalid value: \"[a-z\": must be a valid regular expression, but isn't: error parsing regexp: missing closing ]: `[a-z`"]),
        (vec![(SPEC_PROPS, json!({"replicas": {"type": "integer", "default": "one"}}))],
         vec![r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[replicas].default: Invalid value: "string":  in body must be of type integer: "string""#]),
        (vec![(SPEC_PROPS, json!({"o": {"type": "object", "default": {"a": 1, "b": 2},
                                          "properties": {"a": {"type": "integer"}}}}))],
         vec![r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[o].default: Invalid value: map[string]interface {}{"a":1, "b":2}: must not have unknown fields"#]),
        (vec![(SPEC_PROPS, json!({"l": {"type": "array", "default": ["x", 1],
                                          "items": {"type": "string"}}}))],
         vec![r#"spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[l].default.[1]: Invalid value: "integer": [1] in body must be of type string: "integer""#]),
        (vec![(SPEC_PROPS, json!({"x": {"type": "string", "anyOf": [{"type": "string"}]}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].anyOf[0].type: Forbidden: must be empty to be structural"]),
        (vec![(SPEC_PROPS, json!({"x": {"type": "string", "x-kubernetes-preserve-unknown-fields": false}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[x].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined"]),
        (vec![(SPEC_PROPS, json!({"ports": {"type": "array", "x-kubernetes-list-type": "map",
                                             "items": {"type": "object"}}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[ports].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map"]),
        (vec![("/spec/versions/0/schema/openAPIV3Schema/properties/metadata",
               json!({"type": "object", "properties": {"labels": {"type": "object"}}}))],
         vec!["spec.versions[0].schema.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"]),
        (vec![("/spec/versions/0/schema/openAPIV3Schema/properties/metadata",
               json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}}))],
         vec![]),
        (vec![("/spec/versions/0/subresources/scale/specReplicasPath", json!(".status.replicas"))],
         vec![r#"spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec"#]),
        (vec![("/spec/versions/0/subresources/scale/statusReplicasPath", json!(""))],
         vec!["spec.versions[0].subresources.scale.statusReplicasPath: Required value"]),
        (vec![("/spec/versions/0/additionalPrinterColumns/0/type", json!("int"))],
         vec![r#"spec.versions[0].additionalPrinterColumns[0].type: Invalid value: "int": must be one of boolean,date,integer,number,string"#]),
        (vec![("/spec/versions/0/additionalPrinterColumns/0/jsonPath", json!("spec.replicas"))],
         vec![r#"spec.versions[0].additionalPrinterColumns[0].JSONPath: Invalid value: "spec.replicas": must be a simple json path starting with ."#]),
        (vec![("/spec/versions/0/name", json!("V1"))],
         vec![
            format!(r#"spec.versions[0].name: Invalid value: "V1": {dns1035}"#).leak(),
         ]),
        (vec![("/spec/conversion", json!({"strategy": "Magic"}))],
         vec![r#"spec.conversion.strategy: Unsupported value: "Magic": supported values: "None", "Webhook""#]),
    ];
    for (edits, want) in cases {
        check_crd(&edits, &want);
    }
}

#[test]
fn crd_versions_need_exactly_one_storage() {
    let mut c = crd();
    let mut v2 = c["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    if let Some(vs) = c["spec"]["versions"].as_array_mut() {
        vs.push(v2);
    }
    let errs = validate_crd(&c, None);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.versions");
    assert_eq!(
        errs[0].detail,
        "must have exactly one version marked as storage version"
    );
    c["spec"]["versions"][1]["name"] = json!("v1");
    c["spec"]["versions"][1]["storage"] = json!(false);
    let errs = validate_crd(&c, None);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].detail, "must contain unique version names");
}

#[test]
fn crd_update_rules() {
    let mut old = crd();
    old["status"] = crd_status(&old, 0);
    old["status"]["storedVersions"] = json!(["v1beta1", "v1"]);

    let mut new = crd();
    new["spec"]["scope"] = json!("Cluster");
    let errs: Vec<String> = validate_crd(&new, Some(&old))
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        vec![
            r#"spec.scope: Invalid value: "Cluster": field is immutable"#,
            r#"status.storedVersions[0]: Invalid value: "v1beta1": must appear in spec.versions"#,
        ]
    );
}

#[test]
fn crd_defaults() {
    let mut c = json!({"spec": {"group": "example.com",
        "names": {"kind": "Widget", "plural": "widgets"}, "scope": "Namespaced", "versions": []}});
    default_crd(&mut c);
    assert_eq!(
        c["spec"]["names"],
        json!({"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"})
    );
    assert_eq!(c["spec"]["conversion"], json!({"strategy": "None"}));
    // names in Go field order
    let keys: Vec<&String> = c["spec"]["names"]
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["plural", "singular", "kind", "listKind"]);

    let mut c = json!({"spec": {"names": {"kind": "W", "singular": "custom", "listKind": "Ws"},
        "conversion": {"strategy": "Webhook", "webhook": {"clientConfig": {"service": {"name": "s", "namespace": "n"}}}}}});
    default_crd(&mut c);
    assert_eq!(c["spec"]["names"]["singular"], "custom");
    assert_eq!(c["spec"]["names"]["listKind"], "Ws");
    assert_eq!(
        c["spec"]["conversion"]["webhook"]["clientConfig"]["service"]["port"],
        443
    );
}

#[test]
fn crd_status_fresh_and_update() {
    let t0 = 1_733_911_200; // 2024-12-11T10:00:00Z
    let s = crd_status(&crd(), t0);
    assert_eq!(
        s,
        json!({
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": "2024-12-11T10:00:00Z",
                 "reason": "NoConflicts", "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": "2024-12-11T10:00:00Z",
                 "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
            ],
            "acceptedNames": {"plural": "widgets", "singular": "widget", "shortNames": ["wd"],
                              "kind": "Widget", "listKind": "WidgetList", "categories": ["all"]},
            "storedVersions": ["v1"]
        })
    );

    // Later: a new storage version is added; old transition times are kept.
    let mut c = crd();
    c["status"] = s;
    c["spec"]["versions"][0]["storage"] = json!(false);
    let mut v2 = c["spec"]["versions"][0].clone();
    v2["name"] = json!("v2");
    v2["storage"] = json!(true);
    if let Some(vs) = c["spec"]["versions"].as_array_mut() {
        vs.push(v2);
    }
    let s2 = crd_status(&c, t0 + 60);
    assert_eq!(s2["storedVersions"], json!(["v1", "v2"]));
    assert_eq!(
        s2["conditions"][1]["lastTransitionTime"],
        "2024-12-11T10:00:00Z"
    );
}

#[test]
fn served_versions_carry_subresources_and_columns() {
    let mut c = crd();
    let mut beta = c["spec"]["versions"][0].clone();
    beta["name"] = json!("v1beta1");
    beta["storage"] = json!(false);
    beta["subresources"] = json!({"status": {}});
    beta["additionalPrinterColumns"] = json!([]);
    let mut alpha = beta.clone();
    alpha["name"] = json!("v1alpha1");
    alpha["served"] = json!(false);
    if let Some(vs) = c["spec"]["versions"].as_array_mut() {
        vs.push(beta);
        vs.push(alpha);
    }
    c["spec"]["scope"] = json!("Cluster");

    let served = served_versions(&c);
    assert_eq!(served.len(), 2);
    let v1 = &served[0];
    assert_eq!(v1.resource.version, "v1");
    assert_eq!(v1.resource.group, "example.com");
    assert_eq!(v1.resource.kind, "Widget");
    assert_eq!(v1.resource.list_kind, "WidgetList");
    assert_eq!(v1.resource.plural, "widgets");
    assert_eq!(v1.resource.singular, "widget");
    assert_eq!(v1.resource.scope, Scope::Cluster);
    assert_eq!(v1.resource.short_names, ["wd"]);
    assert_eq!(v1.resource.categories, ["all"]);
    assert_eq!(v1.resource.subresources, ["status", "scale"]);
    assert!(v1.resource.custom);
    assert!(v1.storage && v1.status_subresource);
    let scale = v1.scale.as_ref().map(|s| {
        (
            s.spec_replicas_path.as_str(),
            s.status_replicas_path.as_str(),
            s.label_selector_path.as_deref(),
        )
    });
    assert_eq!(
        scale,
        Some((
            ".spec.replicas",
            ".status.replicas",
            Some(".status.selector")
        ))
    );
    assert_eq!(v1.printer_columns.len(), 1);
    assert_eq!(v1.printer_columns[0]["jsonPath"], ".spec.replicas");
    assert!(v1.schema.is_some());

    let beta = &served[1];
    assert_eq!(beta.resource.version, "v1beta1");
    assert_eq!(beta.resource.subresources, ["status"]);
    assert!(!beta.storage && beta.status_subresource && beta.scale.is_none());
    assert!(beta.printer_columns.is_empty());
}

#[test]
fn schema_defaults_from_a_crd_apply_to_objects() {
    let c = crd();
    let served = served_versions(&c);
    let schema = served[0].schema.clone().unwrap_or_default();
    let mut o = obj(json!({}));
    assert!(prune_default_validate(&schema, &mut o).is_empty());
    assert_eq!(o["spec"], json!({"replicas": 1}));
}

// === helpers ===

#[test]
fn regex_subset() {
    let cases: &[(&str, &str, bool)] = &[
        ("^[a-z]+$", "abc", true),
        ("^[a-z]+$", "abC", false),
        ("[0-9]", "ab1", true),
        ("^\\d{3}-\\d{4}$", "555-1234", true),
        ("^\\d{3}-\\d{4}$", "5555-1234", false),
        ("^(http|https)://", "https://x", true),
        ("^(?:a|b)*c$", "ababc", true),
        ("^a{2,3}$", "aaaa", false),
        ("^a{2,}$", "aaaa", true),
        ("^[^/]+$", "a/b", false),
        ("colou?r", "the color", true),
        ("^\\w+\\.\\w+$", "file.txt", true),
        ("^$", "", true),
        ("a.c", "a\nc", false),
        ("(?i)^abc$", "ABC", true),
        ("^([a-z0-9]([-a-z0-9]*[a-z0-9])?)$", "my-name", true),
        ("^([a-z0-9]([-a-z0-9]*[a-z0-9])?)$", "-bad", false),
        ("\\bfoo\\b", "a foo b", true),
        (
            "^(a+)+$",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
            false,
        ),
    ];
    for (pattern, text, want) in cases {
        let re = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        assert_eq!(re.is_match(text), *want, "{pattern} on {text:?}");
    }
    let invalid: &[(&str, &str)] = &[
        ("(abc", "error parsing regexp: missing closing ): `(abc`"),
        (
            "([a-z]",
            "error parsing regexp: missing closing ): `([a-z]`",
        ),
        ("abc)", "error parsing regexp: unexpected ): `abc)`"),
        (
            "*a",
            "error parsing regexp: missing argument to repetition operator: `*`",
        ),
        (
            "a**",
            "error parsing regexp: invalid nested repetition operator: `**`",
        ),
        (
            "[z-a]",
            "error parsing regexp: invalid character class range: `z-a`",
        ),
        (
            "\\q",
            "error parsing regexp: invalid escape sequence: `\\q`",
        ),
    ];
    for (pattern, want) in invalid {
        match Regex::new(pattern) {
            Err(RegexError::Invalid(e)) => assert_eq!(&e, want),
            other => panic!("{pattern}: {other:?}"),
        }
    }
    assert!(matches!(
        Regex::new("\\p{Greek}"),
        Err(RegexError::Unsupported)
    ));
}

#[test]
fn go_float_formatting() {
    let cases: &[(f64, &str)] = &[
        (0.5, "0.5"),
        (10.0, "10"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.25, "-2.25"),
    ];
    for (f, want) in cases {
        assert_eq!(go_float(*f), *want, "{f}");
    }
}
