use serde_json::{json, Value};

use super::*;

const NAME_PART_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_MSG: &str = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/// `Ok(canonical string)` or `Err(message)`.
fn check_label(input: &str, expected: Result<&str, &str>) {
    let got = LabelSelector::parse(input).map(|s| s.to_string());
    assert_eq!(
        got.as_deref().map_err(String::as_str),
        expected,
        "input {input:?}"
    );
}

#[test]
fn label_parse_canonical() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("   ", ""),
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("app!=web", "app!=web"),
        (
            "pod-template-hash=5e24fd2b5e,app=web",
            "app=web,pod-template-hash=5e24fd2b5e",
        ),
        ("x in (b,a,b)", "x in (a,b)"),
        ("x in(a, b)", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x", "x"),
        ("!x", "!x"),
        ("  y  ,  !x ", "!x,y"),
        ("a>5", "a>5"),
        ("a<10", "a<10"),
        ("x in ()", "x in ()"),
        ("x in (,a)", "x in (,a)"),
        ("x in (a,)", "x in (,a)"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("x=", "x="),
        ("x=,y", "x=,y"),
        ("in in (in,notin)", "in in (in,notin)"),
        ("example.com/app=web", "example.com/app=web"),
        ("app=web,app!=db", "app=web,app!=db"),
        (
            "environment in (production, qa),tier notin (frontend)",
            "environment in (production,qa),tier notin (frontend)",
        ),
    ];
    for (input, want) in cases {
        check_label(input, Ok(want));
    }
}

#[test]
fn label_parse_errors() {
    let long_key = "a".repeat(64);
    let long_key_sel = format!("{long_key}=b");
    let long_key_err = format!(
        "unable to parse requirement: <nil>: Invalid value: \"{long_key}\": name part must be no more than 63 characters"
    );
    let long_value_sel = format!("a={}", "b".repeat(64));
    let long_value_err = format!(
        "unable to parse requirement: values[0][a]: Invalid value: \"{}\": must be no more than 63 characters",
        "b".repeat(64)
    );
    let cases: Vec<(&str, String)> = vec![
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("a !b", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt".into()),
        ("a=b c", "found 'c', expected: ',' or 'end of string'".into()),
        ("a=b,", "found '', expected: identifier after ','".into()),
        ("a=b,,c", "found ',', expected: identifier after ','".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("(a)", "found '(', expected: !, identifier, or 'end of string'".into()),
        ("!", "unable to parse requirement: found '', expected: identifier".into()),
        ("!a=b", "found '=', expected: ',' or 'end of string'".into()),
        ("x in a", "unable to parse requirement: found 'a' expected: '('".into()),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
        ("x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier".into()),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'".into()),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
        ("a=(b)", "unable to parse requirement: found '(', expected: identifier".into()),
        (
            "a>b",
            "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        (
            "a<",
            "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
        ),
        ("a>-1", format!("unable to parse requirement: values[0][a]: Invalid value: \"-1\": {VALUE_MSG}")),
        ("a=b/c", format!("unable to parse requirement: values[0][a]: Invalid value: \"b/c\": {VALUE_MSG}")),
        (
            "a>x/y",
            format!(
                "unable to parse requirement: [values[0]: Invalid value: \"x/y\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][a]: Invalid value: \"x/y\": {VALUE_MSG}]"
            ),
        ),
        ("a/b/c=d", format!("unable to parse requirement: <nil>: Invalid value: \"a/b/c\": {QUALIFIED_MSG}")),
        ("-a", format!("unable to parse requirement: <nil>: Invalid value: \"-a\": {NAME_PART_MSG}")),
        (
            "/a",
            "unable to parse requirement: <nil>: Invalid value: \"/a\": prefix part must be non-empty".into(),
        ),
        (
            "a/=b",
            format!("unable to parse requirement: <nil>: Invalid value: \"a/\": name part must be non-empty; {NAME_PART_MSG}"),
        ),
        (
            "Example.com/a",
            format!("unable to parse requirement: <nil>: Invalid value: \"Example.com/a\": prefix part {SUBDOMAIN_MSG}"),
        ),
        (&long_key_sel, long_key_err),
        (&long_value_sel, long_value_err),
    ];
    for (input, want) in &cases {
        check_label(input, Err(want));
    }
}

fn labels(v: Value) -> Option<serde_json::Map<String, Value>> {
    v.as_object().cloned()
}

#[test]
fn label_matching() {
    let web = json!({"app": "web", "tier": "frontend", "replicas": "3"});
    let cases: &[(&str, Value, bool)] = &[
        ("", Value::Null, true),
        ("app=web", web.clone(), true),
        ("app==web", web.clone(), true),
        ("app=db", web.clone(), false),
        ("app=web", Value::Null, false),
        ("app!=db", web.clone(), true),
        ("app!=web", web.clone(), false),
        ("missing!=x", web.clone(), true),
        ("app in (db,web)", web.clone(), true),
        ("app in (db)", web.clone(), false),
        ("app notin (db)", web.clone(), true),
        ("app notin (web)", web.clone(), false),
        ("missing notin (web)", Value::Null, true),
        ("app", web.clone(), true),
        ("missing", web.clone(), false),
        ("!missing", web.clone(), true),
        ("!app", web.clone(), false),
        ("replicas>2", web.clone(), true),
        ("replicas>3", web.clone(), false),
        ("replicas<4", web.clone(), true),
        ("app>1", web.clone(), false),
        ("missing<1", web.clone(), false),
        ("app=web,tier=frontend", web.clone(), true),
        ("app=web,tier=backend", web.clone(), false),
        ("x=", json!({"x": ""}), true),
        ("x in ()", json!({"x": ""}), true),
    ];
    for (sel, l, want) in cases {
        let s = LabelSelector::parse(sel).expect("parse");
        assert_eq!(s.matches(labels(l.clone()).as_ref()), *want, "{sel} on {l}");
    }
    assert!(LabelSelector::default().is_empty());
    assert!(!LabelSelector::parse("a").expect("parse").is_empty());
}

#[test]
fn label_selector_from_json() {
    let cases: Vec<(Value, Result<Option<&str>, String>)> = vec![
        (Value::Null, Ok(None)),
        (json!({}), Ok(Some(""))),
        (json!({"matchLabels": null, "matchExpressions": null}), Ok(Some(""))),
        (
            json!({"matchLabels": {"pod-template-hash": "5e24fd2b5e", "app": "web"}}),
            Ok(Some("app=web,pod-template-hash=5e24fd2b5e")),
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]}),
            Ok(Some("tier in (a,b)")),
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["cache"]}]}),
            Ok(Some("tier notin (cache)")),
        ),
        (
            json!({"matchLabels": {"b": "1"}, "matchExpressions": [
                {"key": "a", "operator": "Exists"},
                {"key": "c", "operator": "DoesNotExist", "values": []}]}),
            Ok(Some("a,b=1,!c")),
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]}),
            Err("values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty".into()),
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["a", "b"]}]}),
            Err("values: Invalid value: []string{\"a\", \"b\"}: values set must be empty for exists and does not exist".into()),
        ),
        (
            json!({"matchExpressions": [{"key": "tier", "operator": "Gt", "values": ["1"]}]}),
            Err("\"Gt\" is not a valid pod selector operator".into()),
        ),
        (
            json!({"matchLabels": {"a/b/c": "x"}}),
            Err(format!("key: Invalid value: \"a/b/c\": {QUALIFIED_MSG}")),
        ),
        (
            json!({"matchLabels": {"app": "web!"}}),
            Err(format!("values[0][app]: Invalid value: \"web!\": {VALUE_MSG}")),
        ),
    ];
    for (input, want) in cases {
        let got = LabelSelector::from_json(&input).map(|o| o.map(|s| s.to_string()));
        let want = want.map(|o| o.map(str::to_string));
        assert_eq!(got, want, "input {input}");
    }
}

#[test]
fn label_selector_from_json_matches_set_based() {
    let sel = LabelSelector::from_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
            {"key": "canary", "operator": "DoesNotExist"}
        ]
    }))
    .expect("valid")
    .expect("not null");
    assert!(sel.matches(labels(json!({"app": "web", "tier": "edge"})).as_ref()));
    assert!(!sel.matches(labels(json!({"app": "web", "tier": "edge", "canary": "1"})).as_ref()));
    assert!(!sel.matches(labels(json!({"app": "web"})).as_ref()));
    let everything = LabelSelector::from_json(&json!({}))
        .expect("valid")
        .expect("some");
    assert!(everything.matches(None));
}

#[test]
fn format_label_selector_cases() {
    let cases: &[(Value, &str)] = &[
        (Value::Null, "<none>"),
        (json!({}), "<none>"),
        (json!({"matchLabels": {"app": "web"}}), "app=web"),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}),
            "<error>",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(format_label_selector(input), *want, "input {input}");
    }
}

#[test]
fn label_selector_from_map() {
    let m = labels(json!({"tier": "fe", "app": "web"})).expect("object");
    let s = LabelSelector::from_map(&m);
    assert_eq!(s.to_string(), "app=web,tier=fe");
    assert!(s.matches(Some(&m)));
}

/// `Ok(canonical string)` or `Err(message)`.
fn check_field(input: &str, group: &str, kind: &str, expected: Result<&str, &str>) {
    let got = FieldSelector::parse(input, group, kind).map(|s| s.to_string());
    assert_eq!(
        got.as_deref().map_err(String::as_str),
        expected,
        "input {input:?} for {group}/{kind}"
    );
}

#[test]
fn field_parse() {
    let meta_only = "is not a known field selector: only \"metadata.name\", \"metadata.namespace\"";
    let cases: Vec<(&str, &str, &str, Result<&str, String>)> = vec![
        ("", "", "Pod", Ok("")),
        ("metadata.name=web", "apps", "Deployment", Ok("metadata.name=web")),
        ("metadata.name==web", "apps", "Deployment", Ok("metadata.name=web")),
        ("metadata.namespace!=kube-system", "", "ConfigMap", Ok("metadata.namespace!=kube-system")),
        (
            "status.phase=Running,spec.nodeName=n1",
            "",
            "Pod",
            Ok("spec.nodeName=n1,status.phase=Running"),
        ),
        ("spec.host=n1", "", "Pod", Ok("spec.nodeName=n1")),
        ("status.podIPs=10.0.0.1", "", "Pod", Ok("status.podIPs=10.0.0.1")),
        ("metadata.name=a\\,b\\=c\\\\", "", "Pod", Ok("metadata.name=a\\,b\\=c\\\\")),
        (",metadata.name=a,", "", "Pod", Ok("metadata.name=a")),
        (
            "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=u1",
            "",
            "Event",
            Ok("involvedObject.kind=Deployment,involvedObject.name=web,involvedObject.namespace=default,involvedObject.uid=u1"),
        ),
        ("source=kubelet,reportingComponent=x,reason=Pulled,type=Normal", "", "Event",
            Ok("reason=Pulled,reportingComponent=x,source=kubelet,type=Normal")),
        ("regarding.name=web,reportingController=c", "events.k8s.io", "Event",
            Ok("involvedObject.name=web,reportingComponent=c")),
        ("spec.unschedulable=true", "", "Node", Ok("spec.unschedulable=true")),
        ("status.phase=Active", "", "Namespace", Ok("status.phase=Active")),
        ("type=kubernetes.io/tls", "", "Secret", Ok("type=kubernetes.io/tls")),
        ("spec.type=NodePort,spec.clusterIP!=None", "", "Service", Ok("spec.clusterIP!=None,spec.type=NodePort")),
        ("status.replicas=0", "", "ReplicationController", Ok("status.replicas=0")),
        ("status.successful=1", "batch", "Job", Ok("status.successful=1")),
        ("metadata.namespace=ns", "example.com", "Widget", Ok("metadata.namespace=ns")),
        ("foo=bar", "", "Pod", Err("field label not supported: foo".into())),
        (" status.phase=Running", "", "Pod", Err("field label not supported:  status.phase".into())),
        ("zzz=1,aaa=2", "", "Pod", Err("field label not supported: aaa".into())),
        ("status.replicas=0", "apps", "ReplicaSet", Err(format!("\"status.replicas\" {meta_only}"))),
        ("spec.replicas=1", "apps", "Deployment", Err(format!("\"spec.replicas\" {meta_only}"))),
        ("metadata.namespace=x", "", "Node", Err("field label not supported: metadata.namespace".into())),
        ("metadata.namespace=x", "", "Namespace", Err("field label not supported: metadata.namespace".into())),
        ("involvedObject.name=web", "events.k8s.io", "Event", Err("field label not supported: involvedObject.name".into())),
        ("status.failed=1", "batch", "Job", Err("field label \"status.failed\" not supported for batchv1.Job".into())),
        ("spec.foo=1", "example.com", "Widget", Err("field label not supported: spec.foo".into())),
        ("status.phase", "", "Pod", Err("invalid selector: 'status.phase'; can't understand 'status.phase'".into())),
        ("zzz=1,bad", "", "Pod", Err("invalid selector: 'zzz=1,bad'; can't understand 'bad'".into())),
        ("a=b\\x", "", "Pod", Err("invalid field selector: invalid escape sequence: \\x".into())),
        ("a=b\\", "", "Pod", Err("invalid field selector: invalid escape sequence: \\".into())),
        ("a=b=c", "", "Pod", Err("invalid field selector: unescaped character in value: 61".into())),
        ("a=!=c", "", "Pod", Err("invalid field selector: unescaped character in value: 61".into())),
    ];
    for (input, group, kind, want) in &cases {
        check_field(
            input,
            group,
            kind,
            want.as_ref().map(|s| *s).map_err(String::as_str),
        );
    }
}

#[test]
fn field_matching() {
    let pod = json!({
        "metadata": {"name": "web-1", "namespace": "default"},
        "spec": {"nodeName": "n1", "hostNetwork": true, "restartPolicy": "Always",
                  "schedulerName": "default-scheduler", "serviceAccountName": "default"},
        "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}
    });
    let pending = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {}, "status": {"phase": "Pending"}});
    let event = json!({
        "metadata": {"name": "web.1", "namespace": "default"},
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": "default", "uid": "u1"},
        "reason": "ScalingReplicaSet", "type": "Normal",
        "source": {}, "reportingComponent": "deployment-controller"
    });
    let event_v1 = json!({
        "metadata": {"name": "web.2", "namespace": "default"},
        "regarding": {"kind": "Pod", "name": "web-1"},
        "reportingController": "kubelet", "reason": "Pulled", "type": "Normal"
    });
    let node = json!({"metadata": {"name": "n1"}, "spec": {}});
    let cases: Vec<(&str, &str, &str, &Value, bool)> = vec![
        ("status.phase=Running", "", "Pod", &pod, true),
        ("status.phase!=Running", "", "Pod", &pod, false),
        ("status.phase=Running", "", "Pod", &pending, false),
        ("metadata.name=web-1,metadata.namespace=default", "", "Pod", &pod, true),
        ("metadata.namespace=other", "", "Pod", &pod, false),
        ("spec.hostNetwork=true", "", "Pod", &pod, true),
        ("spec.hostNetwork=false", "", "Pod", &pending, true),
        ("spec.nodeName=", "", "Pod", &pending, true),
        ("spec.host=n1", "", "Pod", &pod, true),
        ("status.podIP=10.0.0.5", "", "Pod", &pod, true),
        ("status.podIPs=10.0.0.5", "", "Pod", &pod, false),
        ("status.podIPs=", "", "Pod", &pod, true),
        ("spec.restartPolicy=Always,spec.schedulerName=default-scheduler,spec.serviceAccountName=default", "", "Pod", &pod, true),
        (
            "involvedObject.name=web,involvedObject.namespace=default,involvedObject.kind=Deployment,involvedObject.uid=u1",
            "", "Event", &event, true,
        ),
        ("involvedObject.uid=u2", "", "Event", &event, false),
        ("source=deployment-controller", "", "Event", &event, true),
        ("reason=ScalingReplicaSet,type=Normal", "", "Event", &event, true),
        ("regarding.kind=Pod,reportingController=kubelet", "events.k8s.io", "Event", &event_v1, true),
        ("spec.unschedulable=false", "", "Node", &node, true),
        ("", "", "Node", &node, true),
        ("metadata.name=n2", "", "Node", &node, false),
    ];
    for (sel, group, kind, obj, want) in cases {
        let s = FieldSelector::parse(sel, group, kind).expect("parse");
        assert_eq!(s.matches(obj), want, "{sel} on {group}/{kind}");
    }
    assert!(FieldSelector::default().matches(&json!({})));
}

#[test]
fn field_values() {
    let svc = json!({"metadata": {"name": "s", "namespace": "d"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.10"}});
    let rs = json!({"metadata": {"name": "r"}, "status": {"replicas": 3}});
    let job = json!({"metadata": {"name": "j"}, "status": {"succeeded": 2}});
    let secret = json!({"metadata": {"name": "x"}, "type": "Opaque"});
    let pod = json!({"metadata": {"name": "p"}, "status": {"podIP": "10.1.1.1"}});
    let empty = json!({});
    let node = json!({"metadata": {"name": "n"}});
    let ns = json!({"metadata": {"name": "ns"}, "status": {"phase": "Active"}});
    let cases: Vec<(&str, &str, &Value, &str, Option<&str>)> = vec![
        ("", "Service", &svc, "spec.type", Some("NodePort")),
        ("", "Service", &svc, "spec.clusterIP", Some("10.96.0.10")),
        ("", "Service", &svc, "metadata.namespace", Some("d")),
        ("", "Service", &svc, "spec.ports", None),
        ("apps", "ReplicaSet", &rs, "status.replicas", Some("3")),
        ("apps", "ReplicaSet", &rs, "metadata.namespace", Some("")),
        (
            "",
            "ReplicationController",
            &empty,
            "status.replicas",
            Some("0"),
        ),
        ("batch", "Job", &job, "status.successful", Some("2")),
        ("", "Secret", &secret, "type", Some("Opaque")),
        ("", "Pod", &pod, "status.podIP", Some("10.1.1.1")),
        ("", "Pod", &pod, "spec.hostNetwork", Some("false")),
        ("", "Pod", &pod, "status.podIPs", None),
        ("", "Node", &node, "metadata.namespace", None),
        ("", "Namespace", &ns, "status.phase", Some("Active")),
        ("apps", "Deployment", &rs, "metadata.name", Some("r")),
        ("apps", "Deployment", &rs, "status.replicas", None),
    ];
    for (group, kind, obj, field, want) in cases {
        assert_eq!(
            field_value(group, kind, obj, field).as_deref(),
            want,
            "{group}/{kind} {field}"
        );
    }
}

#[test]
fn field_exact_name() {
    let cases: &[(&str, Option<&str>)] = &[
        ("metadata.name=web", Some("web")),
        ("metadata.name==web", Some("web")),
        ("metadata.name!=web", None),
        ("metadata.name=web,metadata.namespace=default", None),
        ("metadata.namespace=default", None),
        ("", None),
    ];
    for (sel, want) in cases {
        let s = FieldSelector::parse(sel, "apps", "Deployment").expect("parse");
        assert_eq!(s.exact_name(), *want, "{sel}");
    }
}
