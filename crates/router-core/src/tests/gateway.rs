//! Gateway API HTTPRoute: match precedence, hostnames, attachment, weights
//! and filters.

use serde_json::{json, Value};

use super::fixtures::*;
use crate::filters::replace_prefix_match;
use crate::{route, Action, ListenerId, Snapshot};

fn gateway(ns: &str, name: &str, listeners: Value) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"gatewayClassName": "slipway", "listeners": listeners}
    })
}

fn http_route(ns: &str, name: &str, created: &str, spec: Value) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
        "spec": spec
    })
}

fn backend(name: &str) -> Value {
    json!({"name": name, "port": 80})
}

/// Services `names`, one endpoint each, plus a Gateway `web` on port 80.
fn world(names: &[&str], routes: Vec<Value>) -> Snapshot {
    let mut objects = vec![gateway(
        "default",
        "web",
        json!([{"name": "http", "port": 80, "protocol": "HTTP"}]),
    )];
    for (i, n) in names.iter().enumerate() {
        let ip = format!("10.0.{}.1", i + 1);
        let pod = format!("{n}-0");
        objects.extend(app("default", n, &[(pod.as_str(), ip.as_str(), "h")]));
    }
    objects.extend(routes);
    snapshot(&objects)
}

fn gw() -> ListenerId {
    ListenerId::gateway("default", "web", 80)
}

#[test]
fn match_precedence() {
    let rules = json!([
        {"matches": [{"path": {"type": "PathPrefix", "value": "/"}}], "backendRefs": [backend("root")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}], "backendRefs": [backend("api")]},
        {"matches": [{"path": {"type": "Exact", "value": "/api/v1"}}], "backendRefs": [backend("exact")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api/v1/"}}], "backendRefs": [backend("apiv1")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}, "method": "POST"}], "backendRefs": [backend("post")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"},
                      "headers": [{"name": "X-Canary", "value": "true"}]}], "backendRefs": [backend("canary")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"},
                      "headers": [{"name": "x-canary", "value": "true"}, {"name": "x-user", "value": "alice"}]}],
         "backendRefs": [backend("alice")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"},
                      "queryParams": [{"name": "debug", "value": "1"}]}], "backendRefs": [backend("debug")]},
        {"matches": [{"path": {"type": "PathPrefix", "value": "/api"},
                      "headers": [{"name": "x-canary", "value": "true"}],
                      "queryParams": [{"name": "debug", "value": "1"}]}], "backendRefs": [backend("both")]},
        {"matches": [{"path": {"type": "RegularExpression", "value": "/api/v[0-9]+/users/[0-9]+"}}],
         "backendRefs": [backend("regex")]}
    ]);
    let names = [
        "root", "api", "exact", "apiv1", "post", "canary", "alice", "debug", "both", "regex",
    ];
    let snap = world(
        &names,
        vec![http_route(
            "default",
            "prec",
            "2024-01-01T00:00:00Z",
            json!({"parentRefs": [{"name": "web"}], "rules": rules}),
        )],
    );
    let l = gw();
    let cases: Vec<(crate::RequestInfo, &str)> = vec![
        (
            req(&l, "GET", "/"),
            "HTTPRoute default/prec#0 -> default/root:80",
        ),
        (
            req(&l, "GET", "/apix"),
            "HTTPRoute default/prec#0 -> default/root:80",
        ),
        (
            req(&l, "GET", "/api"),
            "HTTPRoute default/prec#1 -> default/api:80",
        ),
        (
            req(&l, "GET", "/api/"),
            "HTTPRoute default/prec#1 -> default/api:80",
        ),
        (
            req(&l, "GET", "/api/v1"),
            "HTTPRoute default/prec#2 -> default/exact:80",
        ),
        (
            req(&l, "GET", "/api/v1/"),
            "HTTPRoute default/prec#3 -> default/apiv1:80",
        ),
        (
            req(&l, "GET", "/api/v1/items"),
            "HTTPRoute default/prec#3 -> default/apiv1:80",
        ),
        (
            req(&l, "GET", "/api/v1/users/42"),
            "HTTPRoute default/prec#9 -> default/regex:80",
        ),
        (
            req(&l, "GET", "/api/v1/users/x"),
            "HTTPRoute default/prec#3 -> default/apiv1:80",
        ),
        (
            req(&l, "POST", "/api/x"),
            "HTTPRoute default/prec#4 -> default/post:80",
        ),
        (
            req(&l, "POST", "/api/x").with_header("x-canary", "true"),
            "HTTPRoute default/prec#4 -> default/post:80",
        ),
        (
            req(&l, "GET", "/api/x").with_header("X-Canary", "true"),
            "HTTPRoute default/prec#5 -> default/canary:80",
        ),
        (
            req(&l, "GET", "/api/x").with_header("x-canary", "TRUE"),
            "HTTPRoute default/prec#1 -> default/api:80",
        ),
        (
            req(&l, "GET", "/api/x")
                .with_header("x-canary", "true")
                .with_header("x-user", "alice"),
            "HTTPRoute default/prec#6 -> default/alice:80",
        ),
        (
            req(&l, "GET", "/api/x?debug=1"),
            "HTTPRoute default/prec#7 -> default/debug:80",
        ),
        (
            req(&l, "GET", "/api/x?debug=2"),
            "HTTPRoute default/prec#1 -> default/api:80",
        ),
        (
            req(&l, "GET", "/api/x?other=1&debug=1"),
            "HTTPRoute default/prec#7 -> default/debug:80",
        ),
        (
            req(&l, "GET", "/api/x?debug=1").with_header("x-canary", "true"),
            "HTTPRoute default/prec#8 -> default/both:80",
        ),
        (
            req(&l, "GET", "/other"),
            "HTTPRoute default/prec#0 -> default/root:80",
        ),
    ];
    for (r, expected) in cases {
        check(&snap, r, expected);
    }
}

#[test]
fn ties_across_routes_go_to_the_oldest_then_by_name() {
    let rule = |svc: &str| json!({"parentRefs": [{"name": "web"}], "rules": [{"matches": [{"path": {"value": "/shared"}}], "backendRefs": [backend(svc)]}]});
    let snap = world(
        &["a", "b", "c"],
        vec![
            http_route("default", "zeta", "2024-01-01T00:00:00Z", rule("a")),
            http_route("default", "beta", "2024-01-01T00:00:00Z", rule("b")),
            http_route("default", "alpha", "2024-06-01T00:00:00Z", rule("c")),
        ],
    );
    // Oldest wins; equal timestamps fall back to namespace/name order.
    check(
        &snap,
        req(&gw(), "GET", "/shared"),
        "HTTPRoute default/beta#0 -> default/b:80",
    );
}

#[test]
fn hostname_specificity_comes_before_path() {
    let snap = world(
        &["a", "b", "c"],
        vec![
            http_route(
                "default",
                "exact-host",
                "2024-01-01T00:00:00Z",
                json!({
                "parentRefs": [{"name": "web"}], "hostnames": ["foo.example.com"],
                "rules": [{"backendRefs": [backend("a")]}]}),
            ),
            http_route(
                "default",
                "wild-host",
                "2024-01-01T00:00:00Z",
                json!({
                "parentRefs": [{"name": "web"}], "hostnames": ["*.example.com"],
                "rules": [{"matches": [{"path": {"value": "/api"}}], "backendRefs": [backend("b")]}]}),
            ),
            http_route(
                "default",
                "any-host",
                "2024-01-01T00:00:00Z",
                json!({
                "parentRefs": [{"name": "web"}],
                "rules": [{"matches": [{"path": {"value": "/api/v1"}}], "backendRefs": [backend("c")]}]}),
            ),
        ],
    );
    let l = gw();
    let cases = [
        (
            "foo.example.com",
            "/api/v1",
            "HTTPRoute default/exact-host#0 -> default/a:80",
        ),
        (
            "FOO.Example.com:8080",
            "/x",
            "HTTPRoute default/exact-host#0 -> default/a:80",
        ),
        (
            "bar.example.com",
            "/api",
            "HTTPRoute default/wild-host#0 -> default/b:80",
        ),
        (
            "a.b.example.com",
            "/api/v1",
            "HTTPRoute default/wild-host#0 -> default/b:80",
        ),
        (
            "bar.example.com",
            "/other",
            "404 no route on gateway default/web:80 matches GET bar.example.com/other",
        ),
        (
            "example.com",
            "/api/v1",
            "HTTPRoute default/any-host#0 -> default/c:80",
        ),
        (
            "other.org",
            "/api/v1/x",
            "HTTPRoute default/any-host#0 -> default/c:80",
        ),
        (
            "other.org",
            "/",
            "404 no route on gateway default/web:80 matches GET other.org/",
        ),
    ];
    for (host, path, expected) in cases {
        check(&snap, req(&l, "GET", path).with_host(host), expected);
    }
}

#[test]
fn listener_hostnames_sections_and_allowed_namespaces() {
    let mut objects = vec![gateway(
        "infra",
        "shared",
        json!([
            {"name": "shop", "port": 80, "protocol": "HTTP", "hostname": "*.shop.io",
             "allowedRoutes": {"namespaces": {"from": "All"}}},
            {"name": "admin", "port": 8080, "protocol": "HTTP"},
            {"name": "tls", "port": 443, "protocol": "TLS"}
        ]),
    )];
    objects.extend(app("team", "store", &[("store-0", "10.0.1.1", "h")]));
    objects.extend(app("infra", "admin", &[("admin-0", "10.0.2.1", "h")]));
    objects.push(http_route(
        "team",
        "store",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"name": "shared", "namespace": "infra", "sectionName": "shop"}],
        "rules": [{"backendRefs": [backend("store")]}]}),
    ));
    // Same-namespace only (the default): a route from "team" is not accepted.
    objects.push(http_route(
        "team",
        "sneaky",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"name": "shared", "namespace": "infra", "port": 8080}],
        "rules": [{"backendRefs": [backend("store")]}]}),
    ));
    objects.push(http_route(
        "infra",
        "admin",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"name": "shared", "port": 8080}],
        "rules": [{"backendRefs": [backend("admin")]}]}),
    ));
    let snap = snapshot(&objects);
    let shop = ListenerId::gateway("infra", "shared", 80);
    let admin = ListenerId::gateway("infra", "shared", 8080);
    check(
        &snap,
        req(&shop, "GET", "/").with_host("www.shop.io"),
        "HTTPRoute team/store#0 -> team/store:80",
    );
    check(
        &snap,
        req(&shop, "GET", "/").with_host("www.other.io"),
        "404 no route on gateway infra/shared:80 matches GET www.other.io/",
    );
    check(
        &snap,
        req(&admin, "GET", "/"),
        "HTTPRoute infra/admin#0 -> infra/admin:80",
    );
    check(
        &snap,
        req(&ListenerId::gateway("infra", "shared", 443), "GET", "/"),
        "404 no listener gateway infra/shared:443",
    );
    assert!(
        snap.warnings()
            .iter()
            .any(|w| w.contains("HTTPRoute team/sneaky: not allowed")),
        "{:?}",
        snap.warnings()
    );
}

#[test]
fn backend_refs_weights_and_invalid_backends() {
    let mut objects = vec![gateway(
        "default",
        "web",
        json!([{"name": "http", "port": 80, "protocol": "HTTP"}]),
    )];
    objects.extend(app("default", "good", &[("good-0", "10.0.1.1", "h")]));
    objects.extend(app("other", "remote", &[("remote-0", "10.0.2.1", "h")]));
    objects.push(http_route(
        "default",
        "r",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"name": "web"}],
        "rules": [
            {"matches": [{"path": {"value": "/zero"}}],
             "backendRefs": [{"name": "good", "port": 80, "weight": 0}]},
            {"matches": [{"path": {"value": "/missing"}}],
             "backendRefs": [{"name": "nope", "port": 80}]},
            {"matches": [{"path": {"value": "/badport"}}],
             "backendRefs": [{"name": "good", "port": 81}]},
            {"matches": [{"path": {"value": "/half"}}],
             "backendRefs": [{"name": "good", "port": 80}, {"name": "nope", "port": 80}]},
            {"matches": [{"path": {"value": "/remote"}}],
             "backendRefs": [{"name": "remote", "namespace": "other", "port": 80}]},
            {"matches": [{"path": {"value": "/empty"}}]},
            {"matches": [{"path": {"value": "/kind"}}],
             "backendRefs": [{"group": "example.com", "kind": "Bucket", "name": "b"}]}
        ]}),
    ));
    let snap = snapshot(&objects);
    let l = gw();
    let cases = [
        ("/zero", 0, "HTTPRoute default/r#0 respond 500 all backend weights are zero"),
        ("/missing", 0, "HTTPRoute default/r#1 respond 500 Service default/nope not found"),
        ("/badport", 0, "HTTPRoute default/r#2 respond 500 Service default/good has no port 81"),
        // Equal default weights: the draw decides which half of the traffic fails.
        ("/half", 1, "HTTPRoute default/r#3 -> default/good:80"),
        ("/half", u64::MAX / 4 * 3, "HTTPRoute default/r#3 respond 500 Service default/nope not found"),
        (
            "/remote",
            0,
            "HTTPRoute default/r#4 respond 500 reference to Service other/remote not permitted by a ReferenceGrant",
        ),
        ("/empty", 0, "HTTPRoute default/r#5 respond 500 route rule has no backends"),
        ("/kind", 0, "HTTPRoute default/r#6 respond 500 unsupported backend kind Bucket"),
    ];
    for (path, random, expected) in cases {
        // The draw derives from the random value; find one that lands where the case wants.
        let r = if path == "/half" {
            pick_random_for(&snap, &l, path, expected)
        } else {
            random
        };
        check(&snap, req(&l, "GET", path).with_random(r), expected);
    }

    // A ReferenceGrant in the target namespace permits the reference.
    objects.push(json!({
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "allow-default", "namespace": "other"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "default"}],
                 "to": [{"group": "", "kind": "Service"}]}
    }));
    let snap = snapshot(&objects);
    check(
        &snap,
        req(&l, "GET", "/remote"),
        "HTTPRoute default/r#4 -> other/remote:80",
    );
}

/// The first seeded random whose decision prints as `expected`.
fn pick_random_for(snap: &Snapshot, l: &ListenerId, path: &str, expected: &str) -> u64 {
    randoms(7)
        .take(64)
        .find(|&r| {
            route(snap, &req(l, "GET", path).with_random(r))
                .map(|d| d.to_string())
                .as_deref()
                == Ok(expected)
        })
        .unwrap_or_else(|| panic!("no random gives {expected}"))
}

#[test]
fn weighted_split_3_to_1_over_10000_draws() {
    let snap = world(
        &["stable", "canary"],
        vec![http_route(
            "default",
            "split",
            "2024-01-01T00:00:00Z",
            json!({
            "parentRefs": [{"name": "web"}],
            "rules": [{"backendRefs": [
                {"name": "stable", "port": 80, "weight": 3},
                {"name": "canary", "port": 80, "weight": 1}]}]}),
        )],
    );
    for seed in [1, 2, 3] {
        let mut canary = 0;
        for r in randoms(seed).take(10_000) {
            let d = route(&snap, &req(&gw(), "GET", "/").with_random(r)).unwrap();
            let Action::Forward(f) = d.action else {
                panic!("{d}")
            };
            if f.backend.service.name == "canary" {
                canary += 1;
            }
        }
        assert!(
            (2300..=2700).contains(&canary),
            "seed {seed}: {canary} of 10000 to canary"
        );
    }
}

#[test]
fn filters() {
    let rules = json!([
        {"matches": [{"path": {"value": "/headers"}}],
         "filters": [
            {"type": "RequestHeaderModifier", "requestHeaderModifier": {
                "set": [{"name": "X-Env", "value": "prod"}],
                "add": [{"name": "X-Trace", "value": "on"}],
                "remove": ["X-Debug"]}},
            {"type": "ResponseHeaderModifier", "responseHeaderModifier": {
                "set": [{"name": "Cache-Control", "value": "no-store"}]}}],
         "backendRefs": [{"name": "app", "port": 80, "filters": [
            {"type": "RequestHeaderModifier", "requestHeaderModifier": {"add": [{"name": "x-backend", "value": "app"}]}}]}]},
        {"matches": [{"path": {"value": "/secure"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]},
        {"matches": [{"path": {"value": "/moved"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {
            "hostname": "new.example.com", "port": 8443, "scheme": "https",
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}]},
        {"matches": [{"path": {"value": "/full"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {
            "path": {"type": "ReplaceFullPath", "replaceFullPath": "/landing"}}}]},
        {"matches": [{"path": {"value": "/api"}}],
         "filters": [{"type": "URLRewrite", "urlRewrite": {
            "hostname": "internal.svc", "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2/"}}}],
         "backendRefs": [backend("app")]},
        {"matches": [{"path": {"value": "/ext"}}],
         "filters": [{"type": "ExtensionRef", "extensionRef": {"group": "x.io", "kind": "Auth", "name": "a"}}],
         "backendRefs": [backend("app")]}
    ]);
    let snap = world(
        &["app"],
        vec![http_route(
            "default",
            "f",
            "2024-01-01T00:00:00Z",
            json!({"parentRefs": [{"name": "web"}], "rules": rules}),
        )],
    );
    let l = gw();
    let cases = [
        (
            "/headers",
            "HTTPRoute default/f#0 -> default/app:80 req:set:x-env=prod req:add:x-trace=on req:remove:x-debug req:add:x-backend=app resp:set:cache-control=no-store",
        ),
        ("/secure/a?q=1", "HTTPRoute default/f#1 redirect 301 https://example.com/secure/a?q=1"),
        ("/moved/x", "HTTPRoute default/f#2 redirect 302 https://new.example.com:8443/v2/x"),
        ("/full/deep/path", "HTTPRoute default/f#3 redirect 302 http://example.com/landing"),
        ("/api/users", "HTTPRoute default/f#4 -> default/app:80 rewrite-host=internal.svc rewrite-path=/v2/users"),
        ("/api", "HTTPRoute default/f#4 -> default/app:80 rewrite-host=internal.svc rewrite-path=/v2"),
        ("/ext", "HTTPRoute default/f#5 respond 500 unsupported filter: ExtensionRef"),
    ];
    for (path, expected) in cases {
        check(&snap, req(&l, "GET", path), expected);
    }

    // The edits apply in order to a plain header list.
    let d = route(&snap, &req(&l, "GET", "/headers")).unwrap();
    let mut headers = vec![
        ("x-env".to_string(), "dev".to_string()),
        ("x-debug".to_string(), "1".to_string()),
        ("accept".to_string(), "*/*".to_string()),
    ];
    d.request_headers.apply(&mut headers);
    let names: Vec<String> = headers.iter().map(|(n, v)| format!("{n}={v}")).collect();
    assert_eq!(
        names,
        ["accept=*/*", "x-env=prod", "x-trace=on", "x-backend=app"]
    );
}

#[test]
fn replace_prefix_match_table() {
    // The Gateway API's own table for ReplacePrefixMatch.
    let cases = [
        ("/foo/bar", "/foo", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"),
        ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
        ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo/", "/foo", "/xyz", "/xyz/"),
        ("/foo/bar", "/foo", "", "/bar"),
        ("/foo/", "/foo", "", "/"),
        ("/foo", "/foo", "", "/"),
        ("/foo/", "/foo", "/", "/"),
        ("/foo", "/foo", "/", "/"),
        ("/abc", "/", "/v2", "/v2/abc"),
    ];
    for (path, prefix, replacement, expected) in cases {
        assert_eq!(
            replace_prefix_match(path, prefix, replacement),
            expected,
            "{path} {prefix} {replacement}"
        );
    }
}

#[test]
fn gamma_routes_on_a_service() {
    let mut objects = Vec::new();
    objects.extend(app("default", "web", &[("web-0", "10.0.1.1", "h1")]));
    objects.extend(app(
        "default",
        "web-canary",
        &[("webc-0", "10.0.2.1", "h2")],
    ));
    objects.extend(app("default", "only", &[("only-0", "10.0.3.1", "h3")]));
    objects.push(http_route(
        "default",
        "web-split",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"group": "", "kind": "Service", "name": "web", "port": 80}],
        "rules": [
            {"matches": [{"headers": [{"name": "x-canary", "value": "always"}]}],
             "backendRefs": [{"name": "web-canary", "port": 80}]},
            {"matches": [{"path": {"value": "/parent"}}]},
            {"backendRefs": [{"name": "web", "port": 80}]}
        ]}),
    ));
    objects.push(http_route(
        "default",
        "only-this",
        "2024-01-01T00:00:00Z",
        json!({
        "parentRefs": [{"group": "", "kind": "Service", "name": "only"}],
        "rules": [{"matches": [{"path": {"type": "Exact", "value": "/only-this"}}],
                   "backendRefs": [{"name": "only", "port": 80}]}]}),
    ));
    let snap = snapshot(&objects);
    let web = ListenerId::service("default", "web", 80);
    let only = ListenerId::service("default", "only", 80);
    let canary = ListenerId::service("default", "web-canary", 80);
    let cases = [
        (
            req(&web, "GET", "/").with_header("x-canary", "always"),
            "HTTPRoute default/web-split#0 -> default/web-canary:80",
        ),
        (
            req(&web, "GET", "/").with_host("anything"),
            "HTTPRoute default/web-split#2 -> default/web:80",
        ),
        // A rule without backendRefs on a Service parent goes to that Service.
        (
            req(&web, "GET", "/parent"),
            "HTTPRoute default/web-split#1 -> default/web:80",
        ),
        (
            req(&only, "GET", "/only-this"),
            "HTTPRoute default/only-this#0 -> default/only:80",
        ),
        (
            req(&only, "GET", "/some-other-path"),
            "404 no route on service default/only:80 matches GET example.com/some-other-path",
        ),
        // Services without routes are plain L4-style balancing.
        (
            req(&canary, "GET", "/x"),
            "service default/web-canary:80 -> default/web-canary:80",
        ),
    ];
    for (r, expected) in cases {
        check(&snap, r, expected);
    }
}
