//! Version-sticky sessions: a cookie pins a client to the version it first
//! got while that version still has ready endpoints.

use serde_json::{json, Value};

use super::fixtures::*;
use crate::{route, Action, Forward, ListenerId, NoLoad, Snapshot, STICKY_ANNOTATION};

/// Service `web` with sticky versions: 3 pods of hash `aaa`, 1 of `bbb`
/// (seed 003's canary: two Deployments behind one selector).
fn canary_service(bbb: Ep) -> Snapshot {
    let mut service = svc("default", "web", &[("http", 80)]);
    service["metadata"]["annotations"] = json!({STICKY_ANNOTATION: "true"});
    let objects = vec![
        service,
        slice(
            "default",
            "web",
            &[("http", 8080)],
            &[
                ep("10.0.1.1", "web-aaa-1"),
                ep("10.0.1.2", "web-aaa-2"),
                ep("10.0.1.3", "web-aaa-3"),
                bbb,
            ],
        ),
        pod("default", "web-aaa-1", &[("pod-template-hash", "aaa")]),
        pod("default", "web-aaa-2", &[("pod-template-hash", "aaa")]),
        pod("default", "web-aaa-3", &[("pod-template-hash", "aaa")]),
        pod("default", "web-bbb-1", &[("pod-template-hash", "bbb")]),
    ];
    snapshot(&objects)
}

fn web() -> ListenerId {
    ListenerId::service("default", "web", 80)
}

fn forward(snap: &Snapshot, r: crate::RequestInfo) -> Forward {
    let d = route(snap, &r).unwrap();
    match d.action {
        Action::Forward(f) => f,
        other => panic!("{other:?}"),
    }
}

#[test]
fn cookie_pins_the_version_while_it_has_ready_endpoints() {
    let healthy = canary_service(ep("10.0.2.1", "web-bbb-1"));
    let draining = canary_service(ep("10.0.2.1", "web-bbb-1").terminating());
    let gone = canary_service(ep("10.0.2.1", "web-bbb-1").unready());
    let l = web();
    let cases = [
        (
            &healthy,
            req(&l, "GET", "/").with_sticky_cookie("bbb"),
            "service default/web:80 -> default/web:80 version=bbb",
        ),
        (
            &healthy,
            req(&l, "GET", "/").with_sticky_cookie("aaa"),
            "service default/web:80 -> default/web:80 version=aaa",
        ),
        (
            &healthy,
            req(&l, "GET", "/").with_header("cookie", "theme=dark; slipway-version=bbb"),
            "service default/web:80 -> default/web:80 version=bbb",
        ),
        (
            &healthy,
            req(&l, "GET", "/")
                .with_header("cookie", "theme=dark")
                .with_header("cookie", "slipway-version=aaa"),
            "service default/web:80 -> default/web:80 version=aaa",
        ),
        // The version is draining or gone: move the client and say so.
        (
            &draining,
            req(&l, "GET", "/").with_sticky_cookie("bbb"),
            "service default/web:80 -> default/web:80 version=aaa set-cookie=aaa",
        ),
        (
            &gone,
            req(&l, "GET", "/").with_sticky_cookie("bbb"),
            "service default/web:80 -> default/web:80 version=aaa set-cookie=aaa",
        ),
    ];
    for (snap, r, expected) in cases {
        check(snap, r, expected);
    }

    // Every pick for a pinned client stays on its version.
    for (cookie, allowed) in [
        ("bbb", &["10.0.2.1"][..]),
        ("aaa", &["10.0.1.1", "10.0.1.2", "10.0.1.3"][..]),
    ] {
        let mut seen = std::collections::BTreeSet::new();
        for r in randoms(5).take(200) {
            let f = forward(
                &healthy,
                req(&l, "GET", "/")
                    .with_sticky_cookie(cookie)
                    .with_random(r),
            );
            let counter = RoundRobin(std::cell::Cell::new(r % 7));
            let e = f.pick(&counter, &[]).unwrap();
            seen.insert(e.address.to_string());
        }
        let seen: Vec<&str> = seen.iter().map(String::as_str).collect();
        assert_eq!(seen, allowed, "cookie {cookie}");
    }
}

struct RoundRobin(std::cell::Cell<u64>);

impl crate::LoadCounters for RoundRobin {
    fn round_robin(&self, _: &crate::Backend) -> u64 {
        let v = self.0.get();
        self.0.set(v + 1);
        v
    }
}

#[test]
fn new_clients_get_a_cookie_matching_where_they_were_sent() {
    let snap = canary_service(ep("10.0.2.1", "web-bbb-1"));
    let mut bbb = 0;
    for r in randoms(21).take(10_000) {
        let f = forward(&snap, req(&web(), "GET", "/").with_random(r));
        let cookie = f.set_cookie.clone().expect("new clients get a cookie");
        assert_eq!(cookie.name, "slipway-version");
        assert_eq!(f.version.as_deref(), Some(cookie.value.as_str()));
        let e = f.pick(&NoLoad, &[]).unwrap();
        assert_eq!(e.labels.get("pod-template-hash"), Some(&cookie.value));
        if cookie.value == "bbb" {
            bbb += 1;
        }
    }
    // Versions share new clients by ready replica count (3:1).
    assert!(
        (2300..=2700).contains(&bbb),
        "{bbb} of 10000 new clients pinned to bbb"
    );

    // Unknown or stale cookies are replaced.
    let f = forward(
        &snap,
        req(&web(), "GET", "/")
            .with_sticky_cookie("zzz")
            .with_random(3),
    );
    let value = f.set_cookie.as_ref().map(|c| c.value.clone());
    assert!(matches!(value.as_deref(), Some("aaa" | "bbb")), "{value:?}");
    assert_eq!(
        f.set_cookie.unwrap().header_value(),
        format!(
            "slipway-version={}; Path=/; HttpOnly; SameSite=Lax",
            value.unwrap_or_default()
        )
    );
}

fn http_route(canary_weight: u32, sticky: bool) -> Value {
    let annotations = if sticky {
        json!({STICKY_ANNOTATION: "true"})
    } else {
        json!({})
    };
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "shop", "namespace": "default", "annotations": annotations},
        "spec": {
            "parentRefs": [{"kind": "Service", "group": "", "name": "shop", "port": 80}],
            "rules": [{"backendRefs": [
                {"name": "shop-stable", "port": 80, "weight": 9},
                {"name": "shop-canary", "port": 80, "weight": canary_weight}]}]
        }
    })
}

fn split_world(canary_weight: u32, sticky: bool, canary_ep: Ep) -> Snapshot {
    let mut objects = app("default", "shop", &[("shop-s-1", "10.0.1.1", "sss")]);
    objects.extend(app(
        "default",
        "shop-stable",
        &[
            ("shop-s-1", "10.0.1.1", "sss"),
            ("shop-s-2", "10.0.1.2", "sss"),
        ],
    ));
    objects.push(svc("default", "shop-canary", &[("http", 80)]));
    objects.push(slice(
        "default",
        "shop-canary",
        &[("http", 8080)],
        &[canary_ep],
    ));
    objects.push(pod("default", "shop-c-1", &[("pod-template-hash", "ccc")]));
    objects.push(http_route(canary_weight, sticky));
    snapshot(&objects)
}

#[test]
fn cookie_pins_across_weighted_backends() {
    let shop = ListenerId::service("default", "shop", 80);
    let live = split_world(1, true, ep("10.0.9.1", "shop-c-1"));
    let aborted = split_world(0, true, ep("10.0.9.1", "shop-c-1"));
    let plain = split_world(1, false, ep("10.0.9.1", "shop-c-1"));
    for r in randoms(99).take(100) {
        let cases = [
            // Pinned clients ignore the 9:1 draw.
            (
                &live,
                Some("ccc"),
                "HTTPRoute default/shop#0 -> default/shop-canary:80 version=ccc",
            ),
            (
                &live,
                Some("sss"),
                "HTTPRoute default/shop#0 -> default/shop-stable:80 version=sss",
            ),
            // Weight 0 (an aborted canary) releases its clients.
            (
                &aborted,
                Some("ccc"),
                "HTTPRoute default/shop#0 -> default/shop-stable:80 version=sss set-cookie=sss",
            ),
            (
                &aborted,
                None,
                "HTTPRoute default/shop#0 -> default/shop-stable:80 version=sss set-cookie=sss",
            ),
        ];
        for (snap, cookie, expected) in cases {
            let mut request = req(&shop, "GET", "/").with_random(r);
            if let Some(c) = cookie {
                request = request.with_sticky_cookie(c);
            }
            check(snap, request, expected);
        }
        // Without the annotation the cookie means nothing.
        let d = route(
            &plain,
            &req(&shop, "GET", "/")
                .with_sticky_cookie("ccc")
                .with_random(r),
        )
        .unwrap();
        let Action::Forward(f) = d.action else {
            panic!()
        };
        assert_eq!((f.version, f.set_cookie), (None, None));
    }
}

#[test]
fn pinned_version_with_client_ip_affinity_is_consistent() {
    let mut service = svc("default", "web", &[("http", 80)]);
    service["metadata"]["annotations"] = json!({STICKY_ANNOTATION: "true"});
    service["spec"]["sessionAffinity"] = json!("ClientIP");
    let objects = vec![
        service,
        slice(
            "default",
            "web",
            &[("http", 8080)],
            &[
                ep("10.0.1.1", "a"),
                ep("10.0.1.2", "b"),
                ep("10.0.2.1", "c"),
            ],
        ),
        pod("default", "a", &[("pod-template-hash", "aaa")]),
        pod("default", "b", &[("pod-template-hash", "aaa")]),
        pod("default", "c", &[("pod-template-hash", "bbb")]),
    ];
    let snap = snapshot(&objects);
    for i in 0..100u8 {
        let ip = std::net::IpAddr::from([192, 168, 7, i]);
        let f = forward(
            &snap,
            req(&web(), "GET", "/")
                .with_client_ip(ip)
                .with_random(u64::from(i)),
        );
        let e = f.pick(&NoLoad, &[]).unwrap();
        assert_eq!(
            f.version.as_deref(),
            e.labels.get("pod-template-hash").map(String::as_str)
        );
    }
}
