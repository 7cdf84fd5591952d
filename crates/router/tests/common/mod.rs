//! Test fixtures: an in-process API server, the router, and small backends
//! on 127.0.0.N that answer their own name.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::Client;
use router::{RouterConfig, RouterHandle};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct Env {
    _dir: tempfile::TempDir,
    pub api: Option<apiserver::Running>,
    pub client: Client,
    pub router: Option<RouterHandle>,
}

impl Env {
    /// API server with service CIDR 127.`x`.0.0/16 and NodePorts anywhere
    /// above 1024, plus a router with NodePorts on 127.0.0.1.
    pub async fn start(x: u8) -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = apiserver::Config::new(
            dir.path().join("data"),
            "127.0.0.1:0".parse().expect("addr"),
        );
        cfg.service_cidr = format!("127.{x}.0.0/16");
        cfg.node_port_range = "1025-65535".into();
        let api = apiserver::start(cfg).await.expect("apiserver");
        let kc = Kubeconfig::read_from(&api.kubeconfig).expect("kubeconfig");
        let kcfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("kube config");
        let client = Client::try_from(kcfg).expect("client");
        let router = router::start(
            client.clone(),
            RouterConfig {
                node_port_address: "127.0.0.1".parse().expect("ip"),
                metrics_addr: Some("127.0.0.1:0".parse().expect("addr")),
                ..RouterConfig::default()
            },
        )
        .await
        .expect("router");
        Env {
            _dir: dir,
            api: Some(api),
            client,
            router: Some(router),
        }
    }

    pub fn router(&self) -> &RouterHandle {
        self.router.as_ref().expect("router")
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.router.take() {
            r.shutdown().await;
        }
        if let Some(a) = self.api.take() {
            a.shutdown().await;
        }
    }

    pub fn services(&self) -> Api<Service> {
        Api::namespaced(self.client.clone(), "default")
    }

    pub fn slices(&self) -> Api<EndpointSlice> {
        Api::namespaced(self.client.clone(), "default")
    }

    /// Creates a selector-less Service and returns it with its ClusterIP.
    pub async fn create_service(&self, spec: Value) -> (Service, IpAddr) {
        let svc: Service = serde_json::from_value(spec).expect("service json");
        let svc = self
            .services()
            .create(&PostParams::default(), &svc)
            .await
            .expect("create service");
        let ip = svc
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.as_deref())
            .expect("cluster ip")
            .parse()
            .expect("ip");
        self.wait_rv(rv_of(&svc.metadata)).await;
        (svc, ip)
    }

    /// Creates or replaces (server-side apply) an EndpointSlice.
    pub async fn apply_slice(&self, slice: Value) -> u64 {
        let name = slice["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        let s = self
            .slices()
            .patch(
                &name,
                &PatchParams::apply("router-test").force(),
                &Patch::Apply(slice),
            )
            .await
            .expect("apply slice");
        let rv = rv_of(&s.metadata);
        self.wait_rv(rv).await;
        rv
    }

    pub async fn delete_service(&self, name: &str) {
        self.services()
            .delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }

    pub async fn wait_rv(&self, rv: u64) {
        assert!(
            self.router().wait_applied(rv, WAIT).await,
            "router did not apply rv {rv}"
        );
    }

    /// Waits until `f` holds for the live snapshot.
    pub async fn wait_snapshot(&self, f: impl Fn(&router::Snapshot) -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !f(&self.router().snapshot()) {
            assert!(tokio::time::Instant::now() < deadline, "snapshot condition");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

pub fn rv_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> u64 {
    meta.resource_version
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("resourceVersion")
}

/// A Service with one named port and no selector.
pub fn service(name: &str, port: u16, port_name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"name": port_name, "port": port, "protocol": "TCP"}]}
    })
}

/// An EndpointSlice over endpoints (ip, ready, pod name).
///
/// The API server (like upstream) refuses loopback addresses in
/// EndpointSlices, so the 127.0.0.N backends are written as IPv4-mapped IPv6
/// addresses (`::ffff:127.0.0.N`), which Linux connects to over IPv4.
pub fn slice(
    name: &str,
    service: &str,
    port_name: &str,
    port: u16,
    eps: &[(IpAddr, bool, &str)],
) -> Value {
    let endpoints: Vec<Value> = eps
        .iter()
        .map(|(ip, ready, pod)| {
            json!({
                "addresses": [mapped(*ip)],
                "conditions": {"ready": ready, "serving": ready, "terminating": false},
                "targetRef": {"kind": "Pod", "name": pod, "namespace": "default"}
            })
        })
        .collect();
    json!({
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": service}
        },
        "addressType": "IPv6",
        "endpoints": endpoints,
        "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]
    })
}

fn mapped(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_string(),
        IpAddr::V6(v6) => v6.to_string(),
    }
}

/// How a backend treats keep-alive connections.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// hyper with keep-alive.
    KeepAlive,
    /// Answers one request per connection, then closes it without saying so
    /// (no `Connection: close`), as a server with a tiny idle timeout does.
    CloseAfterOne,
    /// Plain TCP echo.
    Echo,
}

pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    pub opened: Arc<AtomicUsize>,
    pub closed: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Backend {
    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// The endpoint address as the router knows it (IPv4-mapped, see [`slice`]).
    pub fn endpoint(&self) -> SocketAddr {
        SocketAddr::new(
            mapped(self.addr.ip()).parse().expect("ip"),
            self.addr.port(),
        )
    }

    pub fn open_connections(&self) -> usize {
        self.opened.load(Ordering::SeqCst) - self.closed.load(Ordering::SeqCst)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Backends named `names` on 127.0.0.2, 127.0.0.3, … sharing one port.
pub async fn backends(names: &[&str], mode: Mode) -> (u16, Vec<Backend>) {
    'retry: for _ in 0..50 {
        let first = TcpListener::bind("127.0.0.2:0").await.expect("bind");
        let port = first.local_addr().expect("addr").port();
        let mut listeners = vec![first];
        for i in 1..names.len() {
            match TcpListener::bind(format!("127.0.0.{}:{port}", 2 + i)).await {
                Ok(l) => listeners.push(l),
                Err(_) => continue 'retry,
            }
        }
        let out = listeners
            .into_iter()
            .zip(names)
            .map(|(l, name)| spawn_backend(l, name, mode))
            .collect();
        return (port, out);
    }
    panic!("no common free port");
}

fn spawn_backend(listener: TcpListener, name: &str, mode: Mode) -> Backend {
    let addr = listener.local_addr().expect("addr");
    let hits = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(AtomicUsize::new(0));
    let (h, o, c, n) = (
        hits.clone(),
        opened.clone(),
        closed.clone(),
        name.to_string(),
    );
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            o.fetch_add(1, Ordering::SeqCst);
            let (h, c, n) = (h.clone(), c.clone(), n.clone());
            tokio::spawn(async move {
                match mode {
                    Mode::KeepAlive => {
                        let svc = service_fn(move |_req: Request<hyper::body::Incoming>| {
                            h.fetch_add(1, Ordering::SeqCst);
                            let body = n.clone();
                            async move {
                                Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                                    Bytes::from(body),
                                )))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    }
                    Mode::CloseAfterOne => {
                        let mut buf = Vec::new();
                        let mut chunk = [0u8; 1024];
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => break,
                                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                            }
                        }
                        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            h.fetch_add(1, Ordering::SeqCst);
                            let resp = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{}",
                                n.len(),
                                n
                            );
                            let _ = stream.write_all(resp.as_bytes()).await;
                            // Close a moment later, racing the next request.
                            tokio::time::sleep(Duration::from_millis(1)).await;
                        }
                    }
                    Mode::Echo => {
                        let mut chunk = [0u8; 1024];
                        loop {
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => break,
                                Ok(k) => {
                                    h.fetch_add(1, Ordering::SeqCst);
                                    if stream.write_all(&chunk[..k]).await.is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
                c.fetch_add(1, Ordering::SeqCst);
            });
        }
    });
    Backend {
        name: name.to_string(),
        addr,
        hits,
        opened,
        closed,
        task,
    }
}

/// One keep-alive client connection.
pub struct Client1 {
    sender: SendRequest<Empty<Bytes>>,
}

impl Client1 {
    pub async fn connect(addr: SocketAddr) -> Client1 {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        Client1 { sender }
    }

    /// GET `path`: (status, body). Panics on a transport error.
    pub async fn get(&mut self, path: &str) -> (u16, String) {
        self.try_get(path).await.expect("request")
    }

    pub async fn try_get(&mut self, path: &str) -> Result<(u16, String), hyper::Error> {
        self.sender.ready().await?;
        let req = Request::get(path)
            .header("host", "test")
            .body(Empty::new())
            .expect("request");
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// GET on a new connection.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    Client1::connect(addr).await.get(path).await
}
