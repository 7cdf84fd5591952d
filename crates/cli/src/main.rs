//! The `slipway` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

mod bench;
mod bench_pods;
mod bench_rollout;
mod bench_router;
mod demo;

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "A Kubernetes-compatible control plane for releasing software safely"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the control plane: API server, store, controllers.
    Up(UpArgs),
    /// Benchmarks against a fresh slipway started by this command.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The built-in `slipway/demo:<tag>` server (see `demo.rs` for its contract).
    DemoApp,
    /// Print the kubeconfig of a data dir.
    Kubeconfig {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// API server: create/get/update/list throughput and latency, watch delivery, RSS, start-up.
    Api(bench::ApiBench),
    /// Pods: start-up latency (100 at once), how many this machine holds Ready, memory per pod.
    Pods(bench_pods::PodsBench),
    /// Deployments: rolling-update wall time against the readiness minimum, controller reaction latency.
    Rollout(bench_rollout::RolloutBench),
    /// Router vs nginx (wrk: req/s, added latency, RSS) and Service selector switch latency.
    Router(bench_router::RouterBench),
}

#[derive(Parser)]
struct UpArgs {
    /// Where state, credentials and the kubeconfig live (default: $XDG_DATA_HOME/slipway).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the API server; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: SocketAddr,
    /// Range ClusterIPs are allocated from (default: a /20 of 10.96.0.0/12 of
    /// this data dir's own, or of 127.96.0.0/12 without pod namespaces).
    #[arg(long)]
    service_cidr: Option<String>,
    /// Where the router serves Prometheus metrics; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    router_metrics: SocketAddr,
    /// Range NodePorts are allocated from.
    #[arg(long, default_value = "30000-32767")]
    node_port_range: String,
    /// The image catalog (default: DATA_DIR/images.yaml).
    #[arg(long)]
    images: Option<PathBuf>,
    /// How pods get their network: `auto` (own network namespace when root, else own loopback address), `namespaces`, `loopback`.
    #[arg(long, default_value = "auto")]
    pod_network: String,
    /// Name of this machine's Node (default: the hostname).
    #[arg(long)]
    node_name: Option<String>,
    /// Recent events kept in memory so watches can resume from a resourceVersion.
    #[arg(long, default_value_t = 20_000)]
    watch_history: usize,
}

fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("slipway");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".local/share/slipway");
    }
    PathBuf::from(".slipway")
}

/// The program behind `slipway/demo:<tag>`: this binary. Containers get a
/// private `/tmp` when they run in mount namespaces, so a binary that lives
/// under /tmp (a build in a temp checkout) is first copied to /var/tmp, keyed
/// by size and modification time so each build is copied once.
fn demo_executable() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    if !exe.starts_with("/tmp") {
        return Ok(exe);
    }
    let meta = std::fs::metadata(&exe)?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = PathBuf::from("/var/tmp/slipway-bin");
    std::fs::create_dir_all(&dir)?;
    let target = dir.join(format!("slipway-{}-{mtime}", meta.len()));
    if !target.exists() {
        let tmp = dir.join(format!(".slipway-{}", std::process::id()));
        std::fs::copy(&exe, &tmp)
            .with_context(|| format!("copying {} for the demo image", exe.display()))?;
        std::fs::rename(&tmp, &target)?;
    }
    Ok(target)
}

async fn kube_client(kubeconfig: &std::path::Path) -> anyhow::Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await?;
    Ok(kube::Client::try_from(cfg)?)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLIPWAY_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Up(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(up(args))
        }
        Command::Bench(BenchCommand::Api(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(bench::api(args))
        }
        Command::Bench(BenchCommand::Pods(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(bench_pods::pods(args))
        }
        Command::Bench(BenchCommand::Rollout(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(bench_rollout::rollout(args))
        }
        Command::Bench(BenchCommand::Router(args)) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(bench_router::router(args))
        }
        Command::DemoApp => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(demo::run())
        }
        Command::Kubeconfig { data_dir } => {
            let dir = data_dir.unwrap_or_else(default_data_dir);
            let path = dir.join("kubeconfig");
            let s = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            print!("{s}");
            Ok(())
        }
    }
}

async fn up(args: UpArgs) -> anyhow::Result<()> {
    // Handlers first: a SIGTERM that arrives while pods' networks are being
    // set up must still lead to a clean stop, not the default exit that
    // would leave bridges and processes behind.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    let images = args
        .images
        .clone()
        .unwrap_or_else(|| data_dir.join("images.yaml"));
    let node_name = args.node_name.clone().unwrap_or_else(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_ascii_lowercase())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "slipway".to_string())
    });
    let mode = match args.pod_network.as_str() {
        "auto" => node::NetworkMode::Auto,
        "namespaces" => node::NetworkMode::Namespaces,
        "loopback" => node::NetworkMode::Loopback,
        other => anyhow::bail!("--pod-network must be auto, namespaces or loopback, not {other}"),
    };
    // Service addresses must be local to this machine before the router
    // binds them, and reachable from pods through the bridge.
    let mut svc_net = node::net::ServiceNetwork::open(&data_dir, node::net::uses_namespaces(mode))
        .context("claiming Service address ranges")?;
    if let Some(cidr) = &args.service_cidr {
        svc_net.add_route(cidr).context("routing --service-cidr")?;
    }
    let lb_range: controllers::loadbalancer::Ipv4Range = svc_net
        .load_balancer_cidr
        .parse()
        .map_err(|e: String| anyhow::anyhow!(e))?;
    let mut cfg = apiserver::Config::new(data_dir.clone(), args.listen);
    cfg.service_cidr = svc_net.service_cidr.clone();
    cfg.node_port_range = args.node_port_range;
    cfg.watch_history = args.watch_history;
    let started = std::time::Instant::now();
    let running = apiserver::start(cfg)
        .await
        .context("starting the API server")?;
    tracing::info!(addr = %running.addr, elapsed_ms = started.elapsed().as_millis() as u64, "API server serving");
    println!(
        "slipway is up: API server at https://{}",
        running.state.advertise
    );
    println!("export KUBECONFIG={}", running.kubeconfig.display());

    // Every component below talks to the API server through kube-rs, exactly
    // as it would to a real cluster.
    let client = kube_client(&running.kubeconfig).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let controllers = tokio::spawn(controllers::run_with(
        client.clone(),
        controllers::Options {
            load_balancer_range: Some(lb_range),
        },
        stopped(stop_rx.clone()),
    ));
    let router = RouterThread::start(
        client.clone(),
        router::RouterConfig {
            metrics_addr: Some(args.router_metrics),
            ..router::RouterConfig::default()
        },
    )
    .await
    .context("starting the router")?;
    // `kubectl patch svc` returns once the router routes by the new spec.
    let _ = running
        .state
        .write_barrier
        .set(std::sync::Arc::new(RouterBarrier(router.service_barrier())));
    if let Some(addr) = router.metrics_addr() {
        println!("router metrics at http://{addr}/metrics");
    }
    tracing::info!(
        service_cidr = %svc_net.service_cidr,
        load_balancer_cidr = %svc_net.load_balancer_cidr,
        "router serving"
    );
    let node_cfg = node::NodeConfig {
        node_name,
        data_dir: data_dir.join("node"),
        images_file: images,
        demo_command: vec![
            demo_executable()?.to_string_lossy().into_owned(),
            "demo-app".to_string(),
        ],
        token: running.state.token.clone(),
    };
    let node = node::start_with(client.clone(), node_cfg, mode)
        .await
        .context("starting the node agent")?;

    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    // Pods stop before the controllers, so nothing replaces them meanwhile.
    node.shutdown().await;
    router.shutdown().await;
    let _ = stop_tx.send(true);
    let _ = controllers.await;
    running.shutdown().await;
    svc_net.shutdown();
    Ok(())
}

/// The router as the API server's write barrier for Services.
struct RouterBarrier(router::ServiceBarrier);

/// How long an acknowledged Service write may wait for the router. It
/// normally takes a millisecond; a router that is stuck must not hold
/// kubectl hostage.
const ROUTER_BARRIER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

impl apiserver::WriteBarrier for RouterBarrier {
    fn service_written(
        &self,
        resource_version: u64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            if !self.0.wait(resource_version, ROUTER_BARRIER_TIMEOUT).await {
                tracing::warn!(
                    resource_version,
                    "router did not apply a Service write within 1 s"
                );
            }
        })
    }
}

/// The router on a thread of its own with a single-threaded runtime: a
/// proxied request's client side and its pooled backend connection then run
/// on one thread, without the cross-thread wake-ups (futex) a work-stealing
/// runtime adds to every request, and the data plane does not compete with
/// the API server's tasks for workers.
struct RouterThread {
    metrics_addr: Option<SocketAddr>,
    barrier: router::ServiceBarrier,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RouterThread {
    async fn start(
        client: kube::Client,
        cfg: router::RouterConfig,
    ) -> anyhow::Result<RouterThread> {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("router".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::Error::from(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let handle = match router::start(client, cfg).await {
                        Ok(h) => h,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok((handle.metrics_addr(), handle.service_barrier())));
                    let _ = stop_rx.await;
                    handle.shutdown().await;
                });
            })?;
        let (metrics_addr, barrier) = ready_rx
            .await
            .map_err(|_| anyhow::anyhow!("the router thread ended before it started"))??;
        Ok(RouterThread {
            metrics_addr,
            barrier,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    fn service_barrier(&self) -> router::ServiceBarrier {
        self.barrier.clone()
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}
