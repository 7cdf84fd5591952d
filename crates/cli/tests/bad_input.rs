//! Bad input gets the right Status, changes nothing stored, and the server
//! keeps serving.

use test_support::Slipway;

fn server() -> Slipway {
    Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway")
}

fn stored_state(s: &Slipway) -> String {
    // What users wrote: identity, labels, spec and data of every object.
    // Status and controller-owned annotations move on their own (the
    // Deployment controller keeps rolling out while the bad requests come in).
    let mut out = String::new();
    for kind in ["deployments", "configmaps", "services", "namespaces"] {
        let v = s.get_json(&[kind, "-A"]);
        for item in v["items"].as_array().into_iter().flatten() {
            let m = &item["metadata"];
            let view = serde_json::json!([
                m["namespace"],
                m["name"],
                m["uid"],
                m["labels"],
                item["spec"],
                item["data"]
            ]);
            out.push_str(&view.to_string());
        }
    }
    out
}

#[test]
fn rejected_requests_change_nothing() {
    let s = server();
    s.ok(&["create", "deployment", "keep", "--image=slipway/demo:v1"]);
    s.ok(&["create", "configmap", "keep", "--from-literal=a=1"]);
    let before = stored_state(&s);
    let dir = s.dir.path();

    // Malformed YAML: kubectl refuses it before sending.
    let f = dir.join("bad.yaml");
    std::fs::write(&f, "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n").expect("write");
    let err = s.fails(&["apply", "-f", f.to_str().expect("path")]);
    assert!(err.contains("error"), "{err}");

    // Malformed JSON sent straight to the server.
    let ep = s.endpoint().expect("endpoint");
    let out = ep
        .curl(
            true,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "{\"kind\":",
            ],
            "/api/v1/namespaces/default/configmaps",
        )
        .expect("curl");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    assert_eq!(
        (
            status["kind"].as_str(),
            status["code"].as_i64(),
            status["reason"].as_str()
        ),
        (Some("Status"), Some(400), Some("BadRequest")),
        "{status}"
    );

    // Unknown field under kubectl's default strict validation.
    std::fs::write(
        &f,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: strict\ndata:\n  a: b\nbogus: 1\n",
    )
    .expect("write");
    let err = s.fails(&["apply", "-f", f.to_str().expect("path")]);
    assert!(
        err.contains("strict decoding error: unknown field \"bogus\""),
        "{err}"
    );

    // Selector that does not match the template labels.
    std::fs::write(
        &f,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: mismatch\nspec:\n  selector:\n    matchLabels:\n      app: a\n  template:\n    metadata:\n      labels:\n        app: b\n    spec:\n      containers:\n      - name: c\n        image: slipway/demo:v1\n",
    )
    .expect("write");
    let err = s.fails(&["apply", "-f", f.to_str().expect("path")]);
    assert!(
        err.contains("The Deployment \"mismatch\" is invalid"),
        "{err}"
    );
    assert!(
        err.contains("spec.template.metadata.labels: Invalid value"),
        "{err}"
    );
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );

    // Invalid name.
    let err = s.fails(&["create", "configmap", "Bad_Name", "--from-literal=a=b"]);
    assert!(
        err.contains("metadata.name: Invalid value: \"Bad_Name\""),
        "{err}"
    );

    // Stale resourceVersion.
    let mut cm = s.get_json(&["configmap", "keep"]);
    cm["metadata"]["resourceVersion"] = serde_json::json!("1");
    cm["data"]["a"] = serde_json::json!("2");
    let err = s
        .kubectl_stdin(&["replace", "-f", "-"], &cm.to_string())
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .expect("replace");
    assert!(err.contains("Error from server (Conflict)"), "{err}");
    assert!(err.contains("the object has been modified; please apply your changes to the latest version and try again"), "{err}");

    // A 20 MB body.
    let big = dir.join("big.json");
    let payload = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{{\"name\":\"big\"}},\"data\":{{\"x\":\"{}\"}}}}",
        "a".repeat(20 * 1024 * 1024)
    );
    std::fs::write(&big, payload).expect("write big");
    let out = ep
        .curl(
            true,
            &[
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--data-binary",
                &format!("@{}", big.display()),
            ],
            "/api/v1/namespaces/default/configmaps",
        )
        .expect("curl big");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "413");

    // No token.
    let out = ep
        .curl(
            false,
            &["-o", "/dev/null", "-w", "%{http_code}"],
            "/api/v1/namespaces",
        )
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "401");
    let out = ep.curl(false, &[], "/version").expect("curl version");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"minor\": \"32\"")
            || String::from_utf8_lossy(&out.stdout).contains("\"minor\":\"32\"")
    );

    // Nothing changed, and the server still serves.
    assert_eq!(stored_state(&s), before);
    assert!(s.ok(&["get", "ns"]).contains("default"));
}
