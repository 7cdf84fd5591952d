//! Istio VirtualService + DestinationRule: seed 003's A/B test, mesh routing
//! by header and cookie, subsets, first-match-wins, rewrites and redirects.

use serde_json::{json, Value};

use super::fixtures::*;
use crate::{route, Action, ListenerId, LoadBalancer, Snapshot};

/// Seed 003 §6: the Istio Gateway and VirtualService, as JSON.
fn seed_003_ab(api_version: &str) -> Vec<Value> {
    vec![
        json!({
            "apiVersion": api_version,
            "kind": "Gateway",
            "metadata": {"name": "act-gateway", "namespace": "default", "labels": {"app": "act-app"}},
            "spec": {
                "selector": {"istio": "ingressgateway"},
                "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
            }
        }),
        json!({
            "apiVersion": api_version,
            "kind": "VirtualService",
            "metadata": {"name": "act-info", "namespace": "default", "labels": {"app": "act-app"}},
            "spec": {
                "hosts": ["*"],
                "gateways": ["act-gateway"],
                "http": [
                    {"match": [{"headers": {"x-api-version": {"exact": "v.1.0.0"}}}],
                     "route": [{"destination": {"host": "act1"}}]},
                    {"match": [{"headers": {"x-api-version": {"exact": "v.2.0.0"}}}],
                     "route": [{"destination": {"host": "act2"}}]}
                ]
            }
        }),
    ]
}

fn act_apps() -> Vec<Value> {
    let mut objects = app(
        "default",
        "act1",
        &[
            ("act1-a", "10.0.1.1", "h1"),
            ("act1-b", "10.0.1.2", "h1"),
            ("act1-c", "10.0.1.3", "h1"),
        ],
    );
    objects.extend(app("default", "act2", &[("act2-a", "10.0.2.1", "h2")]));
    objects
}

#[test]
fn seed_003_ab_testing_by_header() {
    for api_version in [
        "networking.istio.io/v1alpha3",
        "networking.istio.io/v1beta1",
    ] {
        let mut objects = act_apps();
        objects.extend(seed_003_ab(api_version));
        let snap = snapshot(&objects);
        let gw = ListenerId::istio_gateway("default", "act-gateway", 80);
        let cases = [
            (
                req(&gw, "GET", "/").with_header("x-api-version", "v.1.0.0"),
                "VirtualService default/act-info#0 -> default/act1:80",
            ),
            (
                req(&gw, "GET", "/").with_header("X-API-Version", "v.2.0.0"),
                "VirtualService default/act-info#1 -> default/act2:80",
            ),
            (
                req(&gw, "GET", "/").with_host("192.168.10.77:31380"),
                "404 no route on istio-gateway default/act-gateway:80 matches GET 192.168.10.77/",
            ),
            (
                req(&gw, "GET", "/").with_header("x-api-version", "v.3.0.0"),
                "404 no route on istio-gateway default/act-gateway:80 matches GET example.com/",
            ),
            // The Services themselves still balance over their own pods.
            (
                req(&ListenerId::service("default", "act1", 80), "GET", "/"),
                "service default/act1:80 -> default/act1:80",
            ),
        ];
        for (r, expected) in cases {
            check(&snap, r, expected);
        }
    }
}

fn reviews_world(extra: Vec<Value>) -> Snapshot {
    let mut objects = vec![
        svc("default", "reviews", &[("http", 9080)]),
        slice(
            "default",
            "reviews",
            &[("http", 9080)],
            &[
                ep("10.0.1.1", "reviews-v1"),
                ep("10.0.2.1", "reviews-v2"),
                ep("10.0.3.1", "reviews-v3"),
            ],
        ),
        pod(
            "default",
            "reviews-v1",
            &[("app", "reviews"), ("version", "v1")],
        ),
        pod(
            "default",
            "reviews-v2",
            &[("app", "reviews"), ("version", "v2")],
        ),
        pod(
            "default",
            "reviews-v3",
            &[("app", "reviews"), ("version", "v3")],
        ),
        json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": {"name": "reviews", "namespace": "default"},
            "spec": {
                "host": "reviews.default.svc.cluster.local",
                "trafficPolicy": {"loadBalancer": {"simple": "LEAST_REQUEST"}},
                "subsets": [
                    {"name": "v1", "labels": {"version": "v1"}},
                    {"name": "v2", "labels": {"version": "v2"}},
                    {"name": "v3", "labels": {"version": "v3"},
                     "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}}
                ]
            }
        }),
    ];
    objects.extend(extra);
    snapshot(&objects)
}

fn dest(subset: &str) -> Value {
    json!([{"destination": {"host": "reviews", "subset": subset}}])
}

#[test]
fn mesh_virtual_service_first_match_wins() {
    let vs = json!({
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "default"},
        "spec": {
            "hosts": ["reviews"],
            "http": [
                {"match": [{"headers": {"cookie": {"regex": "^(.*?;)?(user=jason)(;.*)?$"}}}], "route": dest("v2")},
                {"match": [{"uri": {"prefix": "/legacy"}, "ignoreUriCase": true}],
                 "rewrite": {"uri": "/v1", "authority": "reviews-legacy"}, "route": dest("v1")},
                {"match": [{"uri": {"exact": "/old"}}], "redirect": {"uri": "/new"}},
                {"match": [{"uri": {"prefix": "/teapot"}}],
                 "directResponse": {"status": 418, "body": {"string": "short and stout"}}},
                {"match": [{"queryParams": {"beta": {"exact": "1"}}, "withoutHeaders": {"x-no-beta": {}}}], "route": dest("v3")},
                {"match": [{"headers": {"x-user": {"prefix": "test-"}}}, {"method": {"exact": "PUT"}}],
                 "headers": {"request": {"set": {"x-test": "yes"}}},
                 "route": [{"destination": {"host": "reviews", "subset": "v3"},
                            "headers": {"response": {"add": {"x-served-by": "v3"}}}}]},
                {"match": [{"headers": {"x-missing": {"exact": "1"}}}], "route": dest("v9")},
                {"route": dest("v1")}
            ]
        }
    });
    let snap = reviews_world(vec![vs]);
    let l = ListenerId::service("default", "reviews", 9080);
    let cases = [
        (req(&l, "GET", "/").with_header("cookie", "user=jason"), "VirtualService default/reviews#0 -> default/reviews:9080/v2"),
        (req(&l, "GET", "/").with_header("cookie", "a=1;user=jason"), "VirtualService default/reviews#0 -> default/reviews:9080/v2"),
        (req(&l, "GET", "/").with_header("cookie", "user=jasonx"), "VirtualService default/reviews#7 -> default/reviews:9080/v1"),
        // First match wins even when a later rule is "more specific".
        (
            req(&l, "GET", "/teapot").with_header("cookie", "user=jason"),
            "VirtualService default/reviews#0 -> default/reviews:9080/v2",
        ),
        (
            req(&l, "GET", "/LEGACY/books"),
            "VirtualService default/reviews#1 -> default/reviews:9080/v1 rewrite-host=reviews-legacy rewrite-path=/v1/books",
        ),
        (req(&l, "GET", "/old?x=1"), "VirtualService default/reviews#2 redirect 301 http://example.com/new?x=1"),
        (req(&l, "GET", "/old/more"), "VirtualService default/reviews#7 -> default/reviews:9080/v1"),
        (req(&l, "GET", "/teapot/x"), "VirtualService default/reviews#3 respond 418 short and stout"),
        (req(&l, "GET", "/x?beta=1"), "VirtualService default/reviews#4 -> default/reviews:9080/v3"),
        (
            req(&l, "GET", "/x?beta=1").with_header("x-no-beta", "please"),
            "VirtualService default/reviews#7 -> default/reviews:9080/v1",
        ),
        (
            req(&l, "GET", "/").with_header("x-user", "test-bob"),
            "VirtualService default/reviews#5 -> default/reviews:9080/v3 req:set:x-test=yes resp:add:x-served-by=v3",
        ),
        (
            req(&l, "PUT", "/"),
            "VirtualService default/reviews#5 -> default/reviews:9080/v3 req:set:x-test=yes resp:add:x-served-by=v3",
        ),
        (
            req(&l, "GET", "/").with_header("x-missing", "1"),
            "VirtualService default/reviews#6 respond 500 subset v9 of default/reviews is not defined",
        ),
        (req(&l, "GET", "/"), "VirtualService default/reviews#7 -> default/reviews:9080/v1"),
    ];
    for (r, expected) in cases {
        check(&snap, r, expected);
    }

    // Subsets hold only their version's endpoints, with the DestinationRule's policy.
    let by_subset = |name: &str| {
        snap.backends()
            .find(|b| b.subset.as_deref() == Some(name))
            .map(|b| {
                (
                    b.endpoints
                        .iter()
                        .map(|e| e.address.to_string())
                        .collect::<Vec<_>>(),
                    b.load_balancer,
                )
            })
    };
    assert_eq!(
        by_subset("v2"),
        Some((vec!["10.0.2.1".to_string()], LoadBalancer::LeastRequest))
    );
    assert_eq!(
        by_subset("v3"),
        Some((vec!["10.0.3.1".to_string()], LoadBalancer::RoundRobin))
    );
}

#[test]
fn weighted_destinations_90_10() {
    let vs = json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "VirtualService",
        "metadata": {"name": "reviews", "namespace": "default"},
        "spec": {"hosts": ["reviews.default.svc.cluster.local"], "http": [{"route": [
            {"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
            {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10}]}]}
    });
    let snap = reviews_world(vec![vs]);
    let l = ListenerId::service("default", "reviews", 9080);
    let mut v2 = 0;
    for r in randoms(11).take(10_000) {
        let d = route(&snap, &req(&l, "GET", "/").with_random(r)).unwrap();
        let Action::Forward(f) = d.action else {
            panic!("{d}")
        };
        if f.backend.subset.as_deref() == Some("v2") {
            v2 += 1;
        }
    }
    assert!((800..=1200).contains(&v2), "{v2} of 10000 to v2");
}

#[test]
fn gateway_virtual_hosts_and_match_gateways() {
    let mut objects = act_apps();
    objects.extend(seed_003_ab("networking.istio.io/v1beta1"));
    objects.push(json!({
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "api", "namespace": "default", "creationTimestamp": "2024-01-01T00:00:00Z"},
        "spec": {
            "hosts": ["api.example.com", "act1"],
            "gateways": ["default/act-gateway", "mesh"],
            "http": [
                {"match": [{"uri": {"prefix": "/v2"}, "gateways": ["mesh"]}], "route": [{"destination": {"host": "act2"}}]},
                {"match": [{"uri": {"prefix": "/v1"}}], "route": [{"destination": {"host": "act1.default.svc.cluster.local"}}]}
            ]
        }
    }));
    let snap = snapshot(&objects);
    let gw = ListenerId::istio_gateway("default", "act-gateway", 80);
    let mesh = ListenerId::service("default", "act1", 80);
    let cases = [
        (
            req(&gw, "GET", "/v1/x").with_host("api.example.com"),
            "VirtualService default/api#1 -> default/act1:80",
        ),
        // The most specific host owns the request: no fall back to the "*" VirtualService.
        (
            req(&gw, "GET", "/")
                .with_host("api.example.com")
                .with_header("x-api-version", "v.2.0.0"),
            "404 no route on istio-gateway default/act-gateway:80 matches GET api.example.com/",
        ),
        // `match[].gateways: [mesh]` does not apply on the gateway.
        (
            req(&gw, "GET", "/v2").with_host("api.example.com"),
            "404 no route on istio-gateway default/act-gateway:80 matches GET api.example.com/v2",
        ),
        (
            req(&gw, "GET", "/")
                .with_host("www.example.com")
                .with_header("x-api-version", "v.2.0.0"),
            "VirtualService default/act-info#1 -> default/act2:80",
        ),
        // In the mesh, the VirtualService for host act1 decides act1's traffic.
        (
            req(&mesh, "GET", "/v2/x"),
            "VirtualService default/api#0 -> default/act2:80",
        ),
        (
            req(&mesh, "GET", "/v1"),
            "VirtualService default/api#1 -> default/act1:80",
        ),
        (
            req(&mesh, "GET", "/"),
            "404 no route on service default/act1:80 matches GET example.com/",
        ),
    ];
    for (r, expected) in cases {
        check(&snap, r, expected);
    }
}

#[test]
fn destination_without_port_uses_the_listener_port() {
    let objects = vec![
        svc("default", "multi", &[("http", 80), ("admin", 8080)]),
        slice(
            "default",
            "multi",
            &[("http", 8000), ("admin", 9000)],
            &[ep("10.0.1.1", "multi-0")],
        ),
        json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": {"name": "multi", "namespace": "default"},
            "spec": {"hosts": ["multi"], "http": [{"route": [{"destination": {"host": "multi"}}]}]}
        }),
    ];
    let snap = snapshot(&objects);
    for (port, endpoint) in [(80, "10.0.1.1:8000"), (8080, "10.0.1.1:9000")] {
        let l = ListenerId::service("default", "multi", port);
        let d = route(&snap, &req(&l, "GET", "/")).unwrap();
        assert_eq!(
            d.to_string(),
            format!("VirtualService default/multi#0 -> default/multi:{port}")
        );
        let Action::Forward(f) = &d.action else {
            panic!("{d}")
        };
        assert_eq!(
            f.pick(&crate::NoLoad, &[])
                .unwrap()
                .socket_addr()
                .to_string(),
            endpoint
        );
    }
}
