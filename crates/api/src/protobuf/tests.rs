use serde_json::{json, Value};

use super::wire::Reader;
use super::{decode, Malformed, ProtoError, CONTENT_TYPE};

// === a tiny encoder, so cases read like the wire format ===

fn varint(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn key(num: u32, wire_type: u8) -> Vec<u8> {
    varint(u64::from(num) << 3 | u64::from(wire_type))
}

/// Varint field.
fn v(num: u32, value: u64) -> Vec<u8> {
    [key(num, 0), varint(value)].concat()
}

/// Length-delimited field holding raw bytes.
fn l(num: u32, bytes: &[u8]) -> Vec<u8> {
    [key(num, 2), varint(bytes.len() as u64), bytes.to_vec()].concat()
}

/// String field.
fn s(num: u32, text: &str) -> Vec<u8> {
    l(num, text.as_bytes())
}

/// Embedded message field.
fn m(num: u32, parts: &[Vec<u8>]) -> Vec<u8> {
    l(num, &parts.concat())
}

/// `map<string, string>` entry.
fn kv(num: u32, k: &str, val: &str) -> Vec<u8> {
    m(num, &[s(1, k), s(2, val)])
}

/// `k8s\0` + `runtime.Unknown{typeMeta, raw, contentEncoding, contentType}`.
fn envelope(api_version: &str, kind: &str, raw: &[Vec<u8>]) -> Vec<u8> {
    [
        b"k8s\0".to_vec(),
        m(1, &[s(1, api_version), s(2, kind)]),
        l(2, &raw.concat()),
        s(3, ""),
        s(4, ""),
    ]
    .concat()
}

fn check(api_version: &str, kind: &str, raw: &[Vec<u8>], expected: Value) {
    let got = decode(&envelope(api_version, kind, raw)).expect("decodes");
    let mut want = json!({"kind": kind, "apiVersion": api_version});
    if let (Some(w), Value::Object(e)) = (want.as_object_mut(), expected) {
        w.extend(e);
    }
    assert_eq!(got, want, "{kind}");
}

fn check_err(body: &[u8], expected: &str) {
    match decode(body) {
        Ok(v) => panic!("expected error {expected:?}, got {v}"),
        Err(e) => assert_eq!(e.to_string(), expected),
    }
}

// === fixtures captured from kubectl 1.32 (see fixtures/protobuf/README.md) ===

/// kubectl's `--dry-run=client -o json` goes through encoding/json, which
/// writes a zero `metav1.Time` as `null` and never omits a non-pointer struct
/// (`status: {}`, `strategy: {}`, `resources: {}`, Namespace `spec: {}`,
/// Service `status.loadBalancer: {}`). On the wire those are empty messages,
/// indistinguishable from absent ones, and the decoder drops them; so nulls
/// and empty objects are removed from the expected side, bottom-up.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalise(v)))
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/fixtures/protobuf/", $name, ".bin")) as &[u8],
            include_str!(concat!("../../tests/fixtures/protobuf/", $name, ".json")),
        )
    };
}

const FIXTURES: &[(&str, &[u8], &str)] = &[
    fixture!("deployment_web"),
    fixture!("deployment_zero"),
    fixture!("deployment_multi"),
    fixture!("namespace"),
    fixture!("configmap"),
    fixture!("secret"),
    fixture!("service_nodeport"),
    fixture!("service_headless"),
    fixture!("serviceaccount"),
    fixture!("job"),
    fixture!("cronjob"),
    fixture!("quota"),
    fixture!("service_externalname"),
    fixture!("service_loadbalancer"),
    fixture!("secret_dockerregistry"),
];

#[test]
fn fixtures_match_kubectl_json() {
    for (name, bin, json) in FIXTURES {
        let want: Value = serde_json::from_str(json).expect("fixture json");
        let got = decode(bin).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, normalise(want), "{name}");
    }
}

#[test]
fn fixture_replicas_zero_survives() {
    let (_, bin, _) = FIXTURES[1];
    let got = decode(bin).expect("decodes");
    assert_eq!(got["spec"]["replicas"], json!(0));
}

#[test]
fn fixture_kind_and_api_version_come_first() {
    let (_, bin, _) = FIXTURES[0];
    let got = decode(bin).expect("decodes");
    let keys: Vec<&str> = got
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys[..2], ["kind", "apiVersion"]);
}

/// Cutting a body anywhere is an error, never a panic or a silently
/// shorter object, except exactly between the empty trailing envelope
/// fields (`3: ""`, `4: ""`, two bytes each), which carry nothing.
#[test]
fn truncated_fixtures_are_errors() {
    for (name, bin, _) in FIXTURES {
        let whole = bin.len();
        for n in 0..whole {
            let between_trailers = n == whole - 4 || n == whole - 2;
            assert_eq!(
                decode(&bin[..n]).is_ok(),
                between_trailers,
                "{name} cut at {n}"
            );
        }
        assert!(decode(bin).is_ok(), "{name}");
    }
}

/// Corrupted bytes may decode or fail, but must not panic.
#[test]
fn corrupted_fixtures_do_not_panic() {
    for (_, bin, _) in FIXTURES {
        for i in 0..bin.len() {
            for flip in [0x01u8, 0x07, 0x80, 0xff] {
                let mut b = bin.to_vec();
                b[i] ^= flip;
                let _ = decode(&b);
            }
        }
    }
}

// === wire reader ===

#[test]
fn varints() {
    let cases: &[(&[u8], Result<u64, Malformed>)] = &[
        (&[0x00], Ok(0)),
        (&[0x01], Ok(1)),
        (&[0x7f], Ok(127)),
        (&[0x80, 0x01], Ok(128)),
        (&[0xac, 0x02], Ok(300)),
        (&[0xff, 0xff, 0xff, 0xff, 0x0f], Ok(u64::from(u32::MAX))),
        // Non-minimal encodings are legal.
        (&[0x80, 0x80, 0x00], Ok(0)),
        (
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            Ok(u64::MAX),
        ),
        (
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            Err(Malformed::VarintOverflow),
        ),
        (&[0x80; 10], Err(Malformed::VarintOverflow)),
        (&[0x80; 11], Err(Malformed::VarintOverflow)),
        (&[], Err(Malformed::Truncated)),
        (&[0x80], Err(Malformed::Truncated)),
        (&[0xff, 0xff], Err(Malformed::Truncated)),
    ];
    for (bytes, want) in cases {
        assert_eq!(&Reader::new(bytes).varint(), want, "{bytes:x?}");
    }
}

#[test]
fn encoder_round_trips_through_reader() {
    for n in [
        0,
        1,
        127,
        128,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX - 1,
        u64::MAX,
    ] {
        assert_eq!(Reader::new(&varint(n)).varint(), Ok(n));
    }
}

#[test]
fn wire_fields() {
    use super::wire::Value as W;
    let bytes = [
        v(1, 150),
        [key(2, 1), 7u64.to_le_bytes().to_vec()].concat(),
        s(3, "hi"),
        [key(4, 5), 9u32.to_le_bytes().to_vec()].concat(),
    ]
    .concat();
    let mut r = Reader::new(&bytes);
    assert_eq!(r.field(), Ok(Some((1, W::Varint(150)))));
    assert_eq!(r.field(), Ok(Some((2, W::Fixed64(7)))));
    assert_eq!(r.field(), Ok(Some((3, W::Len(b"hi")))));
    assert_eq!(r.field(), Ok(Some((4, W::Fixed32(9)))));
    assert_eq!(r.field(), Ok(None));
}

#[test]
fn wire_errors() {
    let cases: &[(Vec<u8>, Malformed)] = &[
        (key(0, 0), Malformed::FieldNumber(0)),
        (key(1, 3), Malformed::WireType(3)),
        (key(1, 4), Malformed::WireType(4)),
        (key(1, 6), Malformed::WireType(6)),
        (
            [key(1, 2), varint(5), b"abc".to_vec()].concat(),
            Malformed::Truncated,
        ),
        ([key(1, 2), varint(u64::MAX)].concat(), Malformed::Truncated),
        ([key(1, 1), vec![0; 7]].concat(), Malformed::Truncated),
        ([key(1, 5), vec![0; 3]].concat(), Malformed::Truncated),
        (key(1, 0), Malformed::Truncated),
        (
            varint(u64::from(u32::MAX) << 3),
            Malformed::FieldNumber(u64::from(u32::MAX)),
        ),
    ];
    for (bytes, want) in cases {
        assert_eq!(Reader::new(bytes).field(), Err(want.clone()), "{bytes:x?}");
    }
}

// === decoding, one message shape per case ===

#[test]
fn object_meta() {
    let t = 1_700_000_000; // 2023-11-14T22:13:20Z
    check(
        "v1",
        "ConfigMap",
        &[m(
            1,
            &[
                s(1, "cfg"),
                s(2, ""),
                s(3, "team-a"),
                s(5, "uid-1"),
                v(7, 3),
                m(8, &[v(1, t)]),
                m(9, &[]),
                v(10, 0),
                kv(11, "app", "web"),
                kv(11, "tier", ""),
                kv(12, "note", "x"),
                m(
                    13,
                    &[
                        s(5, "apps/v1"),
                        s(1, "ReplicaSet"),
                        s(3, "rs"),
                        s(4, "u"),
                        v(6, 1),
                        v(7, 0),
                    ],
                ),
                s(14, "example.com/f"),
                m(
                    17,
                    &[
                        s(1, "kubectl"),
                        s(2, "Update"),
                        s(3, "v1"),
                        m(4, &[v(1, t)]),
                        s(6, "FieldsV1"),
                        m(7, &[l(1, br#"{"f:data":{".":{}}}"#)]),
                        s(8, ""),
                    ],
                ),
            ],
        )],
        json!({"metadata": {
            "name": "cfg",
            "namespace": "team-a",
            "uid": "uid-1",
            "generation": 3,
            "creationTimestamp": "2023-11-14T22:13:20Z",
            "deletionGracePeriodSeconds": 0,
            "labels": {"app": "web", "tier": ""},
            "annotations": {"note": "x"},
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u",
                "controller": true, "blockOwnerDeletion": false,
            }],
            "finalizers": ["example.com/f"],
            "managedFields": [{
                "manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                "time": "2023-11-14T22:13:20Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}}},
            }],
        }}),
    );
}

#[test]
fn label_selector_and_strategy() {
    check(
        "apps/v1",
        "Deployment",
        &[m(
            2,
            &[
                v(1, 0),
                m(
                    2,
                    &[
                        kv(1, "app", "web"),
                        m(2, &[s(1, "tier"), s(2, "In"), s(3, "a"), s(3, "b")]),
                        m(2, &[s(1, "canary"), s(2, "DoesNotExist")]),
                    ],
                ),
                m(
                    4,
                    &[
                        s(1, "RollingUpdate"),
                        m(
                            2,
                            &[m(1, &[v(1, 0), v(2, 0)]), m(2, &[v(1, 1), s(3, "25%")])],
                        ),
                    ],
                ),
                v(5, 0),
                v(6, 0),
                v(7, 1),
                v(9, 600),
            ],
        )],
        json!({"spec": {
            "replicas": 0,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["a", "b"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
            "revisionHistoryLimit": 0,
            "paused": true,
            "progressDeadlineSeconds": 600,
        }}),
    );
}

/// Pod spec pointers keep zero values; non-pointers drop them.
#[test]
fn pod_spec_scalars() {
    check(
        "v1",
        "Pod",
        &[m(
            2,
            &[
                s(3, "Always"),
                v(4, 0),
                s(6, ""),
                kv(7, "disk", "ssd"),
                v(21, 0),
                v(11, 0),
                v(12, 1),
                v(27, 0),
                m(15, &[s(1, "regcred")]),
                m(
                    22,
                    &[s(1, "k"), s(2, "Exists"), s(3, ""), s(4, "NoSchedule")],
                ),
                m(
                    22,
                    &[
                        s(1, "node.kubernetes.io/not-ready"),
                        s(4, "NoExecute"),
                        v(5, 300),
                    ],
                ),
                m(23, &[s(1, "10.0.0.1"), s(2, "db"), s(2, "db.local")]),
                v(25, 0),
                v(30, 1),
                m(36, &[s(1, "linux")]),
                m(32, &[s(1, "cpu"), m(2, &[s(1, "250m")])]),
            ],
        )],
        json!({"spec": {
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 0,
            "nodeSelector": {"disk": "ssd"},
            "automountServiceAccountToken": false,
            "hostPID": true,
            "shareProcessNamespace": false,
            "imagePullSecrets": [{"name": "regcred"}],
            "tolerations": [
                {"key": "k", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute", "tolerationSeconds": 300},
            ],
            "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["db", "db.local"]}],
            "priority": 0,
            "enableServiceLinks": true,
            "os": {"name": "linux"},
            "overhead": {"cpu": "250m"},
        }}),
    );
}

#[test]
fn volumes() {
    let volume = |name: &str, source: Vec<u8>| m(1, &[s(1, name), m(2, &[source])]);
    check(
        "v1",
        "Pod",
        &[m(
            2,
            &[
                volume("cache", m(2, &[])),
                volume("mem", m(2, &[s(1, "Memory"), m(2, &[s(1, "64Mi")])])),
                volume("host", m(1, &[s(1, "/data"), s(2, "")])),
                volume(
                    "cfg",
                    m(
                        19,
                        &[
                            m(1, &[s(1, "app-config")]),
                            m(2, &[s(1, "a"), s(2, "a.txt"), v(3, 0o400)]),
                            v(3, 420),
                            v(4, 0),
                        ],
                    ),
                ),
                volume("sec", m(6, &[s(1, "tls"), v(4, 1)])),
                volume("pvc", m(10, &[s(1, "data"), v(2, 0)])),
                volume(
                    "meta",
                    m(
                        16,
                        &[m(
                            1,
                            &[s(1, "labels"), m(2, &[s(1, "v1"), s(2, "metadata.labels")])],
                        )],
                    ),
                ),
                volume(
                    "all",
                    m(
                        26,
                        &[
                            m(1, &[m(4, &[s(1, ""), v(2, 3600), s(3, "token")])]),
                            m(
                                1,
                                &[m(
                                    3,
                                    &[m(1, &[s(1, "ca")]), m(2, &[s(1, "ca.crt"), s(2, "ca.crt")])],
                                )],
                            ),
                            m(
                                1,
                                &[m(
                                    2,
                                    &[m(
                                        1,
                                        &[
                                            s(1, "cpu"),
                                            m(
                                                3,
                                                &[
                                                    s(1, "app"),
                                                    s(2, "limits.cpu"),
                                                    m(3, &[s(1, "1m")]),
                                                ],
                                            ),
                                        ],
                                    )],
                                )],
                            ),
                        ],
                    ),
                ),
                volume(
                    "scratch",
                    m(
                        29,
                        &[m(
                            1,
                            &[m(
                                2,
                                &[
                                    s(1, "ReadWriteOnce"),
                                    m(2, &[m(2, &[s(1, "storage"), m(2, &[s(1, "1Gi")])])]),
                                    s(5, ""),
                                ],
                            )],
                        )],
                    ),
                ),
            ],
        )],
        json!({"spec": {"volumes": [
            {"name": "cache", "emptyDir": {}},
            {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
            {"name": "host", "hostPath": {"path": "/data", "type": ""}},
            {"name": "cfg", "configMap": {"name": "app-config", "items": [{"key": "a", "path": "a.txt", "mode": 256}], "defaultMode": 420, "optional": false}},
            {"name": "sec", "secret": {"secretName": "tls", "optional": true}},
            {"name": "pvc", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "meta", "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}}]}},
            {"name": "all", "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3600, "path": "token"}},
                {"configMap": {"name": "ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu", "divisor": "1m"}}]}},
            ]}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "",
            }}}},
        ]}}),
    );
}

#[test]
fn containers() {
    let int_port = |num: u32, p: u64| m(num, &[v(1, 0), v(2, p)]);
    let container = [
        s(1, "app"),
        s(2, "nginx:1.25"),
        s(3, "nginx"),
        s(4, "-g"),
        s(4, "daemon off;"),
        s(5, ""),
        m(6, &[s(1, "http"), v(2, 0), v(3, 80), s(4, "TCP"), s(5, "")]),
        m(19, &[s(1, "CFG_"), m(2, &[m(1, &[s(1, "cfg")])])]),
        m(19, &[m(3, &[m(1, &[s(1, "sec")]), v(2, 1)])]),
        m(7, &[s(1, "A"), s(2, "1")]),
        m(7, &[s(1, "EMPTY"), s(2, "")]),
        m(
            7,
            &[
                s(1, "PASS"),
                m(3, &[m(4, &[m(1, &[s(1, "s")]), s(2, "password")])]),
            ],
        ),
        m(
            7,
            &[
                s(1, "NODE"),
                m(3, &[m(1, &[s(1, ""), s(2, "spec.nodeName")])]),
            ],
        ),
        m(
            7,
            &[
                s(1, "MODE"),
                m(3, &[m(3, &[m(1, &[s(1, "cfg")]), s(2, "mode"), v(3, 0)])]),
            ],
        ),
        m(
            8,
            &[
                m(1, &[s(1, "cpu"), m(2, &[s(1, "500m")])]),
                m(1, &[s(1, "memory"), m(2, &[s(1, "128Mi")])]),
                m(2, &[s(1, "cpu"), m(2, &[s(1, "250m")])]),
            ],
        ),
        m(
            9,
            &[s(1, "cache"), v(2, 1), s(3, "/cache"), s(4, ""), s(6, "")],
        ),
        m(
            10,
            &[
                m(
                    1,
                    &[m(
                        2,
                        &[
                            s(1, "/healthz"),
                            m(2, &[v(1, 1), s(3, "http")]),
                            s(4, "HTTP"),
                            m(5, &[s(1, "X-Probe"), s(2, "1")]),
                        ],
                    )],
                ),
                v(2, 0),
                v(3, 1),
                v(4, 10),
                v(5, 1),
                v(6, 3),
            ],
        ),
        m(11, &[m(1, &[m(3, &[int_port(1, 8080)])]), v(2, 5)]),
        m(22, &[m(1, &[m(4, &[v(1, 9090), s(2, "")])]), v(7, 0)]),
        m(
            12,
            &[
                m(2, &[m(1, &[s(1, "sleep"), s(1, "5")])]),
                m(1, &[m(4, &[v(1, 2)])]),
            ],
        ),
        s(13, "/dev/termination-log"),
        s(20, "File"),
        s(14, "IfNotPresent"),
        m(
            15,
            &[
                m(1, &[s(2, "ALL")]),
                v(2, 0),
                v(4, 0),
                v(5, 1),
                v(7, 0),
                m(11, &[s(1, "RuntimeDefault")]),
            ],
        ),
        v(16, 0),
        v(17, 0),
        v(18, 1),
    ];
    check(
        "v1",
        "Pod",
        &[m(
            2,
            &[
                m(2, &container),
                m(20, &[s(1, "init"), s(2, "busybox"), s(24, "Always")]),
            ],
        )],
        json!({"spec": {
            "containers": [{
                "name": "app",
                "image": "nginx:1.25",
                "command": ["nginx"],
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "envFrom": [
                    {"prefix": "CFG_", "configMapRef": {"name": "cfg"}},
                    {"secretRef": {"name": "sec", "optional": true}},
                ],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "EMPTY"},
                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                    {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode", "optional": false}}},
                ],
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
                "volumeMounts": [{"name": "cache", "readOnly": true, "mountPath": "/cache"}],
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP", "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                    "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3,
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5},
                "startupProbe": {"grpc": {"port": 9090, "service": ""}, "terminationGracePeriodSeconds": 0},
                "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}, "postStart": {"sleep": {"seconds": 2}}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {
                    "capabilities": {"drop": ["ALL"]},
                    "privileged": false,
                    "runAsUser": 0,
                    "runAsNonRoot": true,
                    "allowPrivilegeEscalation": false,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "tty": true,
            }],
            "initContainers": [{"name": "init", "image": "busybox", "restartPolicy": "Always"}],
        }}),
    );
}

#[test]
fn pod_security_context_and_affinity() {
    let packed = [varint(1000), varint(2000)].concat();
    let term = m(1, &[m(1, &[s(1, "zone"), s(2, "In"), s(3, "a")])]);
    check(
        "v1",
        "Pod",
        &[m(
            2,
            &[
                m(
                    14,
                    &[
                        l(4, &packed),
                        v(4, 3000),
                        v(5, 2000),
                        v(3, 0),
                        m(7, &[s(1, "net.core.somaxconn"), s(2, "1024")]),
                    ],
                ),
                m(
                    18,
                    &[
                        m(
                            1,
                            &[
                                m(1, &[term]),
                                m(
                                    2,
                                    &[v(1, 10), m(2, &[m(1, &[s(1, "ssd"), s(2, "Exists")])])],
                                ),
                            ],
                        ),
                        m(
                            3,
                            &[m(
                                2,
                                &[
                                    v(1, 100),
                                    m(
                                        2,
                                        &[
                                            m(1, &[kv(1, "app", "web")]),
                                            s(3, "kubernetes.io/hostname"),
                                        ],
                                    ),
                                ],
                            )],
                        ),
                    ],
                ),
                m(
                    33,
                    &[
                        v(1, 1),
                        s(2, "zone"),
                        s(3, "DoNotSchedule"),
                        m(4, &[kv(1, "app", "web")]),
                        v(5, 2),
                    ],
                ),
            ],
        )],
        json!({"spec": {
            "securityContext": {
                "supplementalGroups": [1000, 2000, 3000],
                "fsGroup": 2000,
                "runAsNonRoot": false,
                "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
            },
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]},
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "preference": {"matchExpressions": [{"key": "ssd", "operator": "Exists"}]}}],
                },
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}}],
                },
            },
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule", "labelSelector": {"matchLabels": {"app": "web"}}, "minDomains": 2}],
        }}),
    );
}

#[test]
fn service() {
    check(
        "v1",
        "Service",
        &[
            m(1, &[s(1, "web")]),
            m(
                2,
                &[
                    m(
                        1,
                        &[
                            s(1, ""),
                            s(2, "TCP"),
                            v(3, 80),
                            m(4, &[v(1, 0), v(2, 0), s(3, "")]),
                            v(5, 0),
                        ],
                    ),
                    m(
                        1,
                        &[
                            s(1, "https"),
                            s(2, "TCP"),
                            s(6, "kubernetes.io/h2c"),
                            v(3, 443),
                            m(4, &[v(1, 1), s(3, "tls")]),
                            v(5, 30443),
                        ],
                    ),
                    kv(2, "app", "web"),
                    s(3, "10.96.0.10"),
                    s(18, "10.96.0.10"),
                    s(4, "NodePort"),
                    s(7, "ClientIP"),
                    v(12, 0),
                    v(13, 0),
                    m(14, &[m(1, &[v(1, 10800)])]),
                    s(19, "IPv4"),
                    s(17, "SingleStack"),
                    s(22, "Cluster"),
                ],
            ),
            m(3, &[m(1, &[m(1, &[s(1, "1.2.3.4"), s(3, "VIP")])])]),
        ],
        json!({
            "metadata": {"name": "web"},
            "spec": {
                "ports": [
                    {"protocol": "TCP", "port": 80},
                    {"name": "https", "protocol": "TCP", "appProtocol": "kubernetes.io/h2c", "port": 443, "targetPort": "tls", "nodePort": 30443},
                ],
                "selector": {"app": "web"},
                "clusterIP": "10.96.0.10",
                "clusterIPs": ["10.96.0.10"],
                "type": "NodePort",
                "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
            },
            "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4", "ipMode": "VIP"}]}},
        }),
    );
}

#[test]
fn secret_bytes_are_base64() {
    check(
        "v1",
        "Secret",
        &[
            m(1, &[s(1, "s")]),
            v(5, 0),
            kv(2, "password", "hunter2"),
            m(2, &[s(1, "bin"), l(2, &[0xff, 0x00])]),
            m(2, &[s(1, "empty")]),
            kv(4, "plain", "text"),
            s(3, "Opaque"),
        ],
        json!({
            "metadata": {"name": "s"},
            "immutable": false,
            "data": {"password": "aHVudGVyMg==", "bin": "/wA=", "empty": ""},
            "stringData": {"plain": "text"},
            "type": "Opaque",
        }),
    );
}

#[test]
fn job_and_cron_job() {
    let exit_codes = [varint(1), varint(42)].concat();
    check(
        "batch/v1",
        "Job",
        &[m(
            2,
            &[
                v(1, 0),
                v(7, 4),
                m(
                    11,
                    &[
                        m(
                            1,
                            &[s(1, "FailJob"), m(2, &[s(2, "In"), l(3, &exit_codes)])],
                        ),
                        m(
                            1,
                            &[
                                s(1, "Ignore"),
                                m(3, &[s(1, "DisruptionTarget"), s(2, "True")]),
                            ],
                        ),
                    ],
                ),
                v(5, 0),
                m(6, &[m(1, &[]), m(2, &[s(3, "Never")])]),
                v(8, 100),
                s(9, "Indexed"),
            ],
        )],
        json!({"spec": {
            "parallelism": 0,
            "backoffLimit": 4,
            "podFailurePolicy": {"rules": [
                {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1, 42]}},
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]},
            "manualSelector": false,
            "template": {"spec": {"restartPolicy": "Never"}},
            "ttlSecondsAfterFinished": 100,
            "completionMode": "Indexed",
        }}),
    );
    check(
        "batch/v1",
        "CronJob",
        &[
            m(
                2,
                &[
                    s(1, "@hourly"),
                    s(8, "Etc/UTC"),
                    s(3, "Forbid"),
                    v(4, 0),
                    m(5, &[m(1, &[s(1, "cj")]), m(2, &[v(2, 1)])]),
                    v(6, 0),
                ],
            ),
            m(3, &[m(1, &[s(1, "Job"), s(3, "cj-1")]), m(4, &[v(1, 0)])]),
        ],
        json!({
            "spec": {
                "schedule": "@hourly",
                "timeZone": "Etc/UTC",
                "concurrencyPolicy": "Forbid",
                "suspend": false,
                "jobTemplate": {"metadata": {"name": "cj"}, "spec": {"completions": 1}},
                "successfulJobsHistoryLimit": 0,
            },
            "status": {"active": [{"kind": "Job", "name": "cj-1"}], "lastScheduleTime": "1970-01-01T00:00:00Z"},
        }),
    );
}

#[test]
fn micro_time_and_lease() {
    check(
        "coordination.k8s.io/v1",
        "Lease",
        &[m(
            2,
            &[
                s(1, ""),
                v(2, 0),
                m(3, &[]),
                m(4, &[v(1, 1_700_000_000), v(2, 123_456_789)]),
                v(5, 0),
            ],
        )],
        json!({"spec": {
            "holderIdentity": "",
            "leaseDurationSeconds": 0,
            "renewTime": "2023-11-14T22:13:20.123456Z",
            "leaseTransitions": 0,
        }}),
    );
}

#[test]
fn endpoint_slice() {
    check(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        &[
            s(4, "IPv4"),
            m(
                2,
                &[
                    s(1, "10.0.0.5"),
                    m(2, &[v(1, 1), v(3, 0)]),
                    m(4, &[s(1, "Pod"), s(3, "web-1")]),
                    s(6, "node-1"),
                ],
            ),
            m(2, &[s(1, "10.0.0.6"), m(2, &[])]),
            m(3, &[s(1, ""), s(2, "TCP"), v(3, 80)]),
        ],
        json!({
            "addressType": "IPv4",
            "endpoints": [
                {"addresses": ["10.0.0.5"], "conditions": {"ready": true, "terminating": false}, "targetRef": {"kind": "Pod", "name": "web-1"}, "nodeName": "node-1"},
                {"addresses": ["10.0.0.6"]},
            ],
            "ports": [{"name": "", "protocol": "TCP", "port": 80}],
        }),
    );
}

#[test]
fn raw_extension_and_negative_int32() {
    check(
        "apps/v1",
        "ControllerRevision",
        &[
            m(2, &[l(1, br#"{"spec":{"template":{"$patch":"replace"}}}"#)]),
            v(3, 2),
        ],
        json!({"data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 2}),
    );
    // int32 -1 travels sign-extended as a ten-byte varint.
    check(
        "apps/v1",
        "Deployment",
        &[m(2, &[[key(5, 0), varint(-1i64 as u64)].concat()])],
        json!({"spec": {"minReadySeconds": -1}}),
    );
}

#[test]
fn unknown_fields_are_skipped() {
    check(
        "v1",
        "Namespace",
        &[
            m(
                1,
                &[
                    v(99, 7),
                    [key(98, 5), vec![1, 2, 3, 4]].concat(),
                    [key(97, 1), vec![0; 8]].concat(),
                    m(96, &[s(1, "nested"), v(2, 1)]),
                    s(1, "team-a"),
                ],
            ),
            m(2, &[s(1, "kubernetes")]),
            v(50, 1),
        ],
        json!({"metadata": {"name": "team-a"}, "spec": {"finalizers": ["kubernetes"]}}),
    );
}

/// Protobuf semantics for repeated occurrences of a singular field: scalars
/// take the last value, messages merge.
#[test]
fn repeated_occurrences() {
    check(
        "v1",
        "ServiceAccount",
        &[m(1, &[s(1, "a")]), m(1, &[s(3, "ns")]), v(4, 1), v(4, 0)],
        json!({"metadata": {"name": "a", "namespace": "ns"}, "automountServiceAccountToken": false}),
    );
    check(
        "v1",
        "ServiceAccount",
        &[m(1, &[s(1, "a"), s(1, "")])],
        json!({}),
    );
    check(
        "v1",
        "ServiceAccount",
        &[m(1, &[s(1, "a")]), m(1, &[]), m(1, &[s(2, "")])],
        json!({"metadata": {"name": "a"}}),
    );
}

#[test]
fn json_envelope_is_accepted() {
    let body = [
        b"k8s\0".to_vec(),
        m(1, &[s(1, "v1"), s(2, "ConfigMap")]),
        l(2, br#"{"metadata":{"name":"x"},"data":{"a":"1"}}"#),
        s(4, "application/json"),
    ]
    .concat();
    assert_eq!(
        decode(&body).expect("decodes"),
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}, "data": {"a": "1"}})
    );
}

// === errors ===

#[test]
fn envelope_errors() {
    let cm = |raw: &[Vec<u8>]| envelope("v1", "ConfigMap", raw);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            vec![],
            "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"",
        ),
        (
            br#"{"kind":"ConfigMap"}"#.to_vec(),
            "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"",
        ),
        (
            [b"k8s\x01".to_vec(), cm(&[])[4..].to_vec()].concat(),
            "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"",
        ),
        (
            b"k8s".to_vec(),
            "protobuf body does not start with the Kubernetes magic prefix \"k8s\\x00\"",
        ),
        (
            b"k8s\0".to_vec(),
            "protobuf body does not name its apiVersion and kind",
        ),
        (
            [b"k8s\0".to_vec(), m(1, &[s(1, "v1")])].concat(),
            "protobuf body does not name its apiVersion and kind",
        ),
        (
            [b"k8s\0".to_vec(), m(1, &[s(1, "v1"), s(2, "ConfigMap")])].concat(),
            "protobuf body carries no object",
        ),
        (
            envelope("apps/v1", "StatefulSet", &[]),
            "protobuf decoding is not supported for kind \"StatefulSet\" in \"apps/v1\"",
        ),
        (
            envelope("v2", "ConfigMap", &[]),
            "protobuf decoding is not supported for kind \"ConfigMap\" in \"v2\"",
        ),
        (
            [cm(&[]), s(3, "gzip")].concat(),
            "unsupported protobuf envelope encoding \"gzip\"",
        ),
        (
            [cm(&[]), s(4, "application/yaml")].concat(),
            "unsupported protobuf envelope encoding \"application/yaml\"",
        ),
        (
            [b"k8s\0".to_vec(), v(1, 5)].concat(),
            "malformed protobuf body at typeMeta: wire type 0 does not match the field's type",
        ),
        (
            [cm(&[]), [key(5, 3)].concat()].concat(),
            "malformed protobuf body: unsupported wire type 3",
        ),
    ];
    for (body, want) in cases {
        check_err(&body, want);
    }
}

#[test]
fn field_errors_name_the_json_path() {
    let pod = |spec: &[Vec<u8>]| envelope("v1", "Pod", &[m(2, spec)]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (envelope("v1", "Pod", &[m(1, &[v(1, 1)])]), "malformed protobuf body at metadata.name: wire type 0 does not match the field's type"),
        (envelope("v1", "Pod", &[m(1, &[l(1, &[0xc3, 0x28])])]), "malformed protobuf body at metadata.name: string is not valid UTF-8"),
        (pod(&[m(2, &[s(1, "a")]), m(2, &[l(1, &[0xff])])]), "malformed protobuf body at spec.containers[1].name: string is not valid UTF-8"),
        (pod(&[m(2, &[s(1, "a"), m(6, &[s(3, "80")])])]), "malformed protobuf body at spec.containers[0].ports[0].containerPort: wire type 2 does not match the field's type"),
        (pod(&[m(1, &[s(1, "v"), m(2, &[m(19, &[m(1, &[v(1, 0)])])])])]), "malformed protobuf body at spec.volumes[0].configMap.name: wire type 0 does not match the field's type"),
        (pod(&[kv(7, "disk", "\u{0}ok"), m(7, &[s(1, "bad"), l(2, &[0xfe])])]), "malformed protobuf body at spec.nodeSelector.bad: string is not valid UTF-8"),
        (pod(&[m(14, &[l(4, &[0x80])])]), "malformed protobuf body at spec.securityContext.supplementalGroups[0]: unexpected end of data"),
        (pod(&[m(2, &[m(10, &[m(1, &[m(2, &[m(2, &[v(2, 1)])])])]), s(1, "x")]), [key(99, 0), vec![0x80]].concat()]), "malformed protobuf body at spec: unexpected end of data"),
        (envelope("v1", "Pod", &[m(1, &[m(17, &[m(7, &[l(1, b"{not json")])])])]), "malformed protobuf body at metadata.managedFields[0].fieldsV1: embedded JSON is invalid: key must be a string at line 1 column 2"),
        (envelope("v1", "Pod", &[m(1, &[m(8, &[s(1, "yesterday")])])]), "malformed protobuf body at metadata.creationTimestamp: wire type 2 does not match the field's type"),
        (envelope("v1", "Pod", &[[key(1, 2), varint(10), vec![0x0a]].concat()]), "malformed protobuf body: unexpected end of data"),
        (envelope("v1", "Pod", &[m(2, &[m(2, &[m(8, &[m(1, &[s(1, "cpu"), m(2, &[v(1, 5)])])])])])]), "malformed protobuf body at spec.containers[0].resources.limits.cpu: wire type 0 does not match the field's type"),
    ];
    for (body, want) in cases {
        check_err(&body, want);
    }
}

#[test]
fn error_variants_are_matchable() {
    let err = decode(&envelope("v1", "Pod", &[m(1, &[v(1, 1)])])).expect_err("fails");
    assert!(matches!(
        err,
        ProtoError::Malformed { ref path, what: Malformed::TypeMismatch(0) } if path == "metadata.name"
    ));
    assert!(matches!(decode(b"nope"), Err(ProtoError::BadMagic)));
    assert_eq!(CONTENT_TYPE, "application/vnd.kubernetes.protobuf");
}

#[test]
fn every_kind_has_its_own_descriptor() {
    let kinds = [
        ("v1", "Pod"),
        ("v1", "Service"),
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
        ("v1", "Endpoints"),
        ("v1", "Event"),
        ("v1", "PodTemplate"),
        ("v1", "ReplicationController"),
        ("v1", "ResourceQuota"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "ReplicaSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ControllerRevision"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
        ("coordination.k8s.io/v1", "Lease"),
    ];
    for (api_version, kind) in kinds {
        let msg = super::message_for(api_version, kind).expect("descriptor");
        assert_eq!(msg.name, kind);
        // An empty object decodes to just its type.
        check(api_version, kind, &[], json!({}));
    }
}
