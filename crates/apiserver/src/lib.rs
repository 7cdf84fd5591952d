//! The Kubernetes-compatible API server: HTTPS with bearer-token
//! authentication in front of the revisioned store.
//!
//! Request flow: TLS accept → hyper (HTTP/1.1 or HTTP/2) → [`handlers::handle`]
//! → discovery/OpenAPI, or a verb on a resource target → admission (defaults,
//! validation from `api`) → store. Every error leaves through
//! [`error::ApiError`] as a `Status`.

pub mod discovery;
pub mod error;
pub mod handlers;
pub mod http;
pub mod objects;
pub mod printing;
pub mod resources;
pub mod services;
pub mod tls;

mod crds;
mod logs;
mod namespaces;
mod watch;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch as tokio_watch;

use crate::resources::{object_key, Registry};
use crate::services::ServiceNet;

/// Everything handlers share.
pub struct ApiState {
    pub store: store::Store,
    pub registry: Registry,
    pub token: String,
    pub net: ServiceNet,
    /// Serialises Service IP/port allocation with its store write.
    pub alloc: tokio::sync::Mutex<()>,
    /// `host:port` clients reach us at.
    pub advertise: String,
    /// Set once by the embedder: what a Service write waits for before it
    /// is answered (see [`WriteBarrier`]).
    pub write_barrier: std::sync::OnceLock<Arc<dyn WriteBarrier>>,
}

/// Something an acknowledged write must already be visible in. `slipway up`
/// installs its router here so that when `kubectl patch svc` returns, the
/// router already routes by the new selector: a blue/green switch is in
/// effect for every request sent after the acknowledgement. Bounded by the
/// implementation's own timeout; a barrier never fails a write.
pub trait WriteBarrier: Send + Sync {
    /// A Service write committed at `resource_version`.
    fn service_written(
        &self,
        resource_version: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>;
}

/// How to run the API server.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub service_cidr: String,
    pub node_port_range: String,
    pub durability: store::Durability,
    /// Events kept for watch resumption.
    pub watch_history: usize,
}

impl Config {
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Config {
        Config {
            data_dir,
            listen,
            service_cidr: "10.96.0.0/16".into(),
            node_port_range: "30000-32767".into(),
            durability: store::Durability::Full,
            watch_history: 20_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("creating data dir {0}: {1}")]
    DataDir(PathBuf, std::io::Error),
    #[error("opening store: {0}")]
    Store(#[from] store::StoreError),
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("credentials: {0}")]
    Tls(#[from] tls::TlsError),
    #[error("configuration: {0}")]
    Config(String),
    #[error("bootstrapping objects: {0}")]
    Bootstrap(String),
}

/// A running API server.
pub struct Running {
    pub addr: SocketAddr,
    pub kubeconfig: PathBuf,
    pub state: Arc<ApiState>,
    shutdown: tokio_watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop accepting connections and close open ones.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.accept.await;
    }
}

/// Start serving. Returns once the socket accepts and the kubeconfig is written.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| StartError::DataDir(cfg.data_dir.clone(), e))?;
    let net =
        ServiceNet::parse(&cfg.service_cidr, &cfg.node_port_range).map_err(StartError::Config)?;
    let store = store::Store::open(
        &cfg.data_dir.join("store"),
        store::Options {
            durability: cfg.durability,
            ring_capacity: cfg.watch_history,
            ..Default::default()
        },
    )?;
    let listener = TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| StartError::Bind(cfg.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(cfg.listen, e))?;
    let client_ip = if addr.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        addr.ip()
    };
    let mut hosts = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        "::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        IpAddr::V4(net.first()),
    ];
    if !hosts.contains(&client_ip) {
        hosts.push(client_ip);
    }
    let creds = tls::load_or_create(&cfg.data_dir, &hosts)?;
    let advertise = SocketAddr::new(client_ip, addr.port()).to_string();
    let state = Arc::new(ApiState {
        store,
        registry: Registry::new(),
        token: creds.token.clone(),
        net,
        alloc: tokio::sync::Mutex::new(()),
        advertise: advertise.clone(),
        write_barrier: std::sync::OnceLock::new(),
    });
    bootstrap(&state, addr.port()).await?;

    let (shutdown, shutdown_rx) = tokio_watch::channel(false);
    let acceptor = tokio_rustls::TlsAcceptor::from(creds.server_config.clone());
    let accept = tokio::spawn(accept_loop(listener, acceptor, state.clone(), shutdown_rx));

    let kubeconfig = cfg.data_dir.join("kubeconfig");
    let server = format!("https://{advertise}");
    tls::write_private(
        &kubeconfig,
        &tls::kubeconfig(&server, &creds.ca_pem, &creds.token),
    )?;
    Ok(Running {
        addr,
        kubeconfig,
        state,
        shutdown,
        accept,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<ApiState>,
    mut shutdown: tokio_watch::Receiver<bool>,
) {
    let app =
        axum::Router::new().fallback(move |req: Request| handlers::handle(state.clone(), req));
    loop {
        let (tcp, _) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let tls = match acceptor.accept(tcp).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
            };
            let svc = hyper_util::service::TowerToHyperService::new(app);
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with error");
                    }
                }
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

/// Objects every cluster has: built-in namespaces and the `kubernetes` Service.
async fn bootstrap(state: &Arc<ApiState>, port: u16) -> Result<(), StartError> {
    let err = |e: store::StoreError| StartError::Bootstrap(e.to_string());
    let nsr = state
        .registry
        .find("", "v1", "namespaces")
        .ok_or_else(|| StartError::Bootstrap("no namespaces".into()))?;
    for ns in namespaces::BUILTIN {
        let key = object_key(&nsr, None, ns);
        if state.store.get(&key).is_none() {
            let obj = namespaces::namespace_object(ns);
            let bytes =
                serde_json::to_vec(&obj).map_err(|e| StartError::Bootstrap(e.to_string()))?;
            state.store.create(&key, bytes).await.map_err(err)?;
        }
    }
    let svc_res = state
        .registry
        .find("", "v1", "services")
        .ok_or_else(|| StartError::Bootstrap("no services".into()))?;
    let key = object_key(&svc_res, Some("default"), "kubernetes");
    let ip = state.net.first().to_string();
    let desired_port =
        json!([{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]);
    let current = state.store.get(&key);
    let needs_write = match &current {
        None => true,
        Some(e) => serde_json::from_slice::<serde_json::Value>(&e.value)
            .map(|v| v.pointer("/spec/ports") != Some(&desired_port))
            .unwrap_or(true),
    };
    if needs_write {
        let obj = json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "uid": objects::new_uid(),
                "creationTimestamp": api::meta::rfc3339(api::meta::now_unix()),
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "type": "ClusterIP",
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "internalTrafficPolicy": "Cluster",
                "sessionAffinity": "None",
                "ports": desired_port,
            },
            "status": {"loadBalancer": {}},
        });
        let bytes = serde_json::to_vec(&obj).map_err(|e| StartError::Bootstrap(e.to_string()))?;
        match current {
            None => state.store.create(&key, bytes).await.map_err(err)?,
            Some(e) => state
                .store
                .put(&key, bytes, store::Precondition::Revision(e.rev))
                .await
                .map_err(err)?,
        };
    }
    crds::load_all(state);
    // Namespaces deleted before a restart still need their contents removed.
    for e in state.store.list("/core/namespaces/").entries {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&e.value) {
            if objects::meta_str(&v, "deletionTimestamp").is_some() {
                if let Some(n) = objects::name(&v) {
                    namespaces::finalize_soon(state.clone(), n.to_string());
                }
            }
        }
    }
    Ok(())
}
