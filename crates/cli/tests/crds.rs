//! CustomResourceDefinitions: custom resources served generically from their
//! schema, with defaults, validation, status and scale subresources and
//! printer columns.

use test_support::{wait_for, Slipway};

const CRD: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
    additionalPrinterColumns:
    - name: Size
      type: integer
      jsonPath: .spec.size
    - name: Color
      type: string
      jsonPath: .spec.color
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size:
                type: integer
                minimum: 1
              color:
                type: string
                default: blue
              replicas:
                type: integer
          status:
            type: object
            properties:
              replicas:
                type: integer
"#;

#[test]
fn custom_resources_from_a_crd() {
    let s =
        Slipway::start(std::path::Path::new(env!("CARGO_BIN_EXE_slipway"))).expect("start slipway");
    let dir = s.dir.path();
    let crd = dir.join("crd.yaml");
    std::fs::write(&crd, CRD).expect("write");
    assert_eq!(
        s.ok(&["apply", "-f", crd.to_str().expect("path")]).trim(),
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.com created"
    );
    let c = s.get_json(&["crd", "widgets.example.com"]);
    let conds = c["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        conds
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True"),
        "{c}"
    );

    let w = dir.join("w.yaml");
    std::fs::write(
        &w,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n  replicas: 1\n",
    )
    .expect("write");
    // Discovery of the new resource can lag by a request; kubectl refreshes on a miss.
    wait_for("widget apply", std::time::Duration::from_secs(20), || {
        s.kubectl(&["apply", "-f", w.to_str().expect("path")])
            .ok()
            .filter(|o| o.status.success())
    });
    let obj = s.get_json(&["widget", "w1"]);
    assert_eq!(
        obj["spec"]["color"], "blue",
        "schema default applied: {obj}"
    );
    assert_eq!(obj["metadata"]["generation"], 1);

    let table = s.ok(&["get", "wd"]);
    let header = table.lines().next().unwrap_or("");
    assert!(
        header.contains("NAME") && header.contains("SIZE") && header.contains("COLOR"),
        "{table}"
    );
    assert!(table.contains("w1") && table.contains("blue"), "{table}");

    // Structural validation.
    std::fs::write(
        &w,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  size: 0\n",
    )
    .expect("write");
    let err = s.fails(&["apply", "-f", w.to_str().expect("path")]);
    assert!(err.contains("spec.size"), "{err}");
    std::fs::write(
        &w,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w3\nspec:\n  color: red\n",
    )
    .expect("write");
    let err = s.fails(&["apply", "-f", w.to_str().expect("path")]);
    assert!(err.contains("spec.size: Required value"), "{err}");

    // Scale subresource.
    assert_eq!(
        s.ok(&["scale", "widget", "w1", "--replicas=4"]).trim(),
        "widget.example.com/w1 scaled"
    );
    assert_eq!(s.get_json(&["widget", "w1"])["spec"]["replicas"], 4);

    // Status only through /status.
    s.ok(&[
        "patch",
        "widget",
        "w1",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":9}}"#,
    ]);
    assert!(s.get_json(&["widget", "w1"])["status"]["replicas"].is_null());
    s.ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"replicas":9}}"#,
    ]);
    assert_eq!(s.get_json(&["widget", "w1"])["status"]["replicas"], 9);

    // Deleting the CRD removes its objects and the resource.
    s.ok(&["delete", "crd", "widgets.example.com"]);
    let err = s.fails(&["get", "widgets.example.com"]);
    assert!(
        err.contains("the server doesn't have a resource type") || err.contains("NotFound"),
        "{err}"
    );
}
