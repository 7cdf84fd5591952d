//! The router against a real API server: listeners, per-request routing,
//! draining, retries, TCP, metrics.

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const T: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_ip_round_robin_across_two_endpoints() {
    timeout(T, async {
        let env = Env::start(101).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa"), (bs[1].ip(), true, "pb")],
        ))
        .await;
        let addr = SocketAddr::new(ip, 8080);
        let mut client = Client1::connect(addr).await;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for _ in 0..20 {
            let (status, body) = client.get("/").await;
            assert_eq!(status, 200);
            *seen.entry(body).or_default() += 1;
        }
        assert_eq!(seen.get("a"), Some(&10), "{seen:?}");
        assert_eq!(seen.get("b"), Some(&10), "{seen:?}");
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_client_moves_at_switch() {
    timeout(T, async {
        let env = Env::start(102).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa")],
        ))
        .await;
        let mut client = Client1::connect(SocketAddr::new(ip, 8080)).await;
        for _ in 0..5 {
            assert_eq!(client.get("/").await, (200, "a".to_string()));
        }
        let switched = tokio::time::Instant::now();
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[1].ip(), true, "pb")],
        ))
        .await;
        // The same client connection reaches the new endpoint at once.
        assert_eq!(client.get("/").await, (200, "b".to_string()));
        let took = switched.elapsed();
        assert!(took < Duration::from_millis(500), "switch took {took:?}");
        for _ in 0..5 {
            assert_eq!(client.get("/").await, (200, "b".to_string()));
        }
        assert_eq!(bs[0].hits(), 5);
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unready_endpoint_gets_no_requests_and_idle_connection_closes() {
    timeout(T, async {
        let env = Env::start(103).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa"), (bs[1].ip(), true, "pb")],
        ))
        .await;
        let addr = SocketAddr::new(ip, 8080);
        let mut client = Client1::connect(addr).await;
        for _ in 0..4 {
            assert_eq!(client.get("/").await.0, 200);
        }
        let a = bs[0].endpoint();
        // The pooled connection to a is idle now.
        let deadline = tokio::time::Instant::now() + WAIT;
        while env.router().idle_connections(a) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no idle connection to a"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(bs[0].open_connections(), 1);
        let hits_a = bs[0].hits();
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), false, "pa"), (bs[1].ip(), true, "pb")],
        ))
        .await;
        assert_eq!(env.router().idle_connections(a), 0);
        for _ in 0..10 {
            assert_eq!(client.get("/").await, (200, "b".to_string()));
        }
        assert_eq!(bs[0].hits(), hits_a, "unready endpoint got requests");
        // The backend sees its connection closed.
        let deadline = tokio::time::Instant::now() + WAIT;
        while bs[0].open_connections() != 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "idle connection to a not closed"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_closing_keep_alive_connections_causes_no_errors() {
    timeout(T, async {
        let env = Env::start(104).await;
        let (port, bs) = backends(&["a", "b"], Mode::CloseAfterOne).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa"), (bs[1].ip(), true, "pb")],
        ))
        .await;
        let addr = SocketAddr::new(ip, 8080);
        let mut client = Client1::connect(addr).await;
        for i in 0..200 {
            let (status, _) = client.try_get("/").await.expect("transport error");
            assert_eq!(status, 200, "request {i}");
            if i % 3 == 0 {
                // Let some pooled connections be closed before reuse.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        // One endpoint only: retries go to a fresh connection to it.
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa")],
        ))
        .await;
        for i in 0..100 {
            let (status, body) = client.try_get("/").await.expect("transport error");
            assert_eq!((status, body.as_str()), (200, "a"), "request {i}");
        }
        env.stop().await;
    })
    .await
    .expect("timed out");
}

/// A free port on 127.0.0.1 at the time of asking.
async fn free_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_port_listener() {
    timeout(T, async {
        let env = Env::start(105).await;
        let (port, bs) = backends(&["a"], Mode::KeepAlive).await;
        let node_port = free_port().await;
        let svc = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "np", "namespace": "default"},
            "spec": {"type": "NodePort", "ports": [{"name": "web", "port": 8080, "nodePort": node_port}]}
        });
        let (_, ip) = env.create_service(svc).await;
        env.apply_slice(slice("np-1", "np", "web", port, &[(bs[0].ip(), true, "pa")]))
            .await;
        // Port name `web` is not declared HTTP: sniffed.
        let via_node_port = SocketAddr::new("127.0.0.1".parse().expect("ip"), node_port);
        assert_eq!(get(via_node_port, "/").await, (200, "a".to_string()));
        assert_eq!(get(SocketAddr::new(ip, 8080), "/").await, (200, "a".to_string()));
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_proxying_of_non_http_traffic() {
    timeout(T, async {
        let env = Env::start(106).await;
        let (port, bs) = backends(&["echo"], Mode::Echo).await;
        let (_, ip) = env.create_service(service("echo", 9000, "tcp")).await;
        env.apply_slice(slice(
            "echo-1",
            "echo",
            "tcp",
            port,
            &[(bs[0].ip(), true, "pe")],
        ))
        .await;
        // Client speaks first, not HTTP.
        let mut s = tokio::net::TcpStream::connect(SocketAddr::new(ip, 9000))
            .await
            .expect("connect");
        s.write_all(b"\x01hello\n").await.expect("write");
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"\x01hello\n");
        // Server-first style: the client waits, the router falls back to TCP
        // after the sniff timeout, and the echo works once bytes flow.
        let mut s = tokio::net::TcpStream::connect(SocketAddr::new(ip, 9000))
            .await
            .expect("connect");
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.write_all(b"GET not http").await.expect("write");
        let mut buf = [0u8; 12];
        s.read_exact(&mut buf).await.expect("read");
        assert_eq!(&buf, b"GET not http");
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_endpoints_is_503() {
    timeout(T, async {
        let env = Env::start(107).await;
        let (_, ip) = env.create_service(service("empty", 8080, "http")).await;
        let (status, _) = get(SocketAddr::new(ip, 8080), "/").await;
        assert_eq!(status, 503);
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_service_closes_listener() {
    timeout(T, async {
        let env = Env::start(108).await;
        let (port, bs) = backends(&["a"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("gone", 8080, "http")).await;
        env.apply_slice(slice(
            "gone-1",
            "gone",
            "http",
            port,
            &[(bs[0].ip(), true, "pa")],
        ))
        .await;
        let addr = SocketAddr::new(ip, 8080);
        assert_eq!(get(addr, "/").await, (200, "a".to_string()));
        env.delete_service("gone").await;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::net::TcpStream::connect(addr).await {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                _ => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "listener still open"
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_pod() {
    timeout(T, async {
        let env = Env::start(109).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let pods: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(env.client.clone(), "default");
        for (name, hash) in [("pa", "h1"), ("pb", "h2")] {
            let pod = serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {"app": "web", "pod-template-hash": hash}},
                "spec": {"containers": [{"name": "c", "image": "slipway/demo:v1"}]}
            }))
            .expect("pod");
            pods.create(&Default::default(), &pod).await.expect("create pod");
        }
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice("web-1", "web", "http", port, &[(bs[0].ip(), true, "pa"), (bs[1].ip(), true, "pb")]))
            .await;
        // Pods arrive on their own watch: wait until the labels are in.
        env.wait_snapshot(|s| {
            s.backends().any(|b| b.endpoints.iter().any(|e| e.labels.get("pod-template-hash").is_some_and(|h| h == "h2")))
        })
        .await;
        let mut client = Client1::connect(SocketAddr::new(ip, 8080)).await;
        for _ in 0..6 {
            assert_eq!(client.get("/").await.0, 200);
        }
        let metrics_addr = env.router().metrics_addr().expect("metrics addr");
        let (status, text) = get(metrics_addr, "/metrics").await;
        assert_eq!(status, 200);
        for (pod, hash) in [("pa", "h1"), ("pb", "h2")] {
            let line = format!(
                "slipway_router_requests_total{{namespace=\"default\",service=\"web\",pod=\"{pod}\",pod_template_hash=\"{hash}\",code=\"2xx\"}} 3"
            );
            assert!(text.contains(&line), "missing {line} in\n{text}");
            let count = format!(
                "slipway_router_request_duration_seconds_count{{namespace=\"default\",service=\"web\",pod=\"{pod}\",pod_template_hash=\"{hash}\"}} 3"
            );
            assert!(text.contains(&count), "missing {count}");
        }
        assert!(text.contains("slipway_router_in_flight{namespace=\"default\",service=\"web\",pod=\"pa\",pod_template_hash=\"h1\"} 0"));
        assert!(text.contains("# TYPE slipway_router_connection_errors_total counter"));
        env.stop().await;
    })
    .await
    .expect("timed out");
}

/// A minimal CRD (any fields) for a Gateway API kind.
fn gateway_crd(
    plural: &str,
    kind: &str,
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.gateway.networking.k8s.io")},
        "spec": {
            "group": "gateway.networking.k8s.io",
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind, "listKind": format!("{kind}List")},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    }))
    .expect("crd")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_route_weighted_split_on_a_service() {
    timeout(T, async {
        let env = Env::start(110).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
            kube::Api::all(env.client.clone());
        crds.create(&Default::default(), &gateway_crd("httproutes", "HTTPRoute"))
            .await
            .expect("create crd");
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.create_service(service("web-a", 8080, "http")).await;
        env.create_service(service("web-b", 8080, "http")).await;
        env.apply_slice(slice("web-a-1", "web-a", "http", port, &[(bs[0].ip(), true, "pa")]))
            .await;
        env.apply_slice(slice("web-b-1", "web-b", "http", port, &[(bs[1].ip(), true, "pb")]))
            .await;
        let ar = kube::core::ApiResource {
            group: "gateway.networking.k8s.io".into(),
            version: "v1".into(),
            api_version: "gateway.networking.k8s.io/v1".into(),
            kind: "HTTPRoute".into(),
            plural: "httproutes".into(),
        };
        let routes: kube::Api<kube::core::DynamicObject> =
            kube::Api::namespaced_with(env.client.clone(), "default", &ar);
        // The CRD may take a moment to be served.
        let route: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "split", "namespace": "default"},
            "spec": {
                "parentRefs": [{"group": "", "kind": "Service", "name": "web", "port": 8080}],
                "rules": [{"backendRefs": [
                    {"name": "web-a", "port": 8080, "weight": 3},
                    {"name": "web-b", "port": 8080, "weight": 1}
                ]}]
            }
        }))
        .expect("route");
        let deadline = tokio::time::Instant::now() + WAIT;
        while routes.create(&Default::default(), &route).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "HTTPRoute not served");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let listener = router_core::ListenerId::service("default", "web", 8080);
        env.wait_snapshot(|s| {
            let req = router_core::RequestInfo::new(listener.clone(), "GET", "/");
            router_core::route(s, &req).is_ok_and(|d| d.route.is_some())
        })
        .await;
        let mut client = Client1::connect(SocketAddr::new(ip, 8080)).await;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for _ in 0..400 {
            let (status, body) = client.get("/").await;
            assert_eq!(status, 200);
            *seen.entry(body).or_default() += 1;
        }
        let a = seen.get("a").copied().unwrap_or(0);
        assert!((250..=350).contains(&a), "{seen:?}");
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_errors_under_load_while_endpoints_flip() {
    timeout(T, async {
        let env = Env::start(111).await;
        let (port, bs) = backends(&["a", "b"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        let only = |i: usize| {
            let b = &bs[i];
            slice(
                "web-1",
                "web",
                "http",
                port,
                &[(b.ip(), true, if i == 0 { "pa" } else { "pb" })],
            )
        };
        env.apply_slice(only(0)).await;
        let addr = SocketAddr::new(ip, 8080);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for _ in 0..4 {
            let stop = stop.clone();
            clients.push(tokio::spawn(async move {
                let mut c = Client1::connect(addr).await;
                let mut n = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 20_000 {
                    let (status, _) = c.try_get("/").await.expect("transport error");
                    assert_eq!(status, 200);
                    n += 1;
                }
                n
            }));
        }
        for flip in 0..10 {
            tokio::time::sleep(Duration::from_millis(30)).await;
            env.apply_slice(only((flip + 1) % 2)).await;
        }
        // After the last flip (to a) is applied, b gets nothing new (once
        // the requests already forwarded to it have landed).
        tokio::time::sleep(Duration::from_millis(20)).await;
        let b_hits = bs[1].hits();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(bs[1].hits(), b_hits, "b served after it left the slice");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = 0;
        for c in clients {
            total += c.await.expect("client");
        }
        assert!(total > 100, "only {total} requests");
        env.stop().await;
    })
    .await
    .expect("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_prior_knowledge_is_proxied_to_http1_backends() {
    timeout(T, async {
        let env = Env::start(112).await;
        let (port, bs) = backends(&["a"], Mode::KeepAlive).await;
        let (_, ip) = env.create_service(service("web", 8080, "http")).await;
        env.apply_slice(slice(
            "web-1",
            "web",
            "http",
            port,
            &[(bs[0].ip(), true, "pa")],
        ))
        .await;
        let stream = tokio::net::TcpStream::connect(SocketAddr::new(ip, 8080))
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .expect("h2 handshake");
        tokio::spawn(conn);
        for _ in 0..3 {
            let req = hyper::Request::get("http://web.default/")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .expect("request");
            let resp = sender.send_request(req).await.expect("h2 request");
            assert_eq!(resp.status(), 200);
            use http_body_util::BodyExt;
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            assert_eq!(&body[..], b"a");
        }
        env.stop().await;
    })
    .await
    .expect("timed out");
}
