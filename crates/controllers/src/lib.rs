//! Kubernetes controllers for slipway, on kube-rs. They talk to the API
//! server only through the Kubernetes API, so they run unchanged against any
//! cluster.
//!
//! Public entry point:
//!
//! ```text
//! /// Run every controller until `shutdown` resolves.
//! pub async fn run(client: kube::Client, shutdown: impl Future<Output = ()> + Send + 'static);
//! ```
//!
//! * [`replicaset`]: keeps `spec.replicas` active pods per ReplicaSet (adopt,
//!   release, slow-start creation, upstream deletion preference, status,
//!   `SuccessfulCreate`/`SuccessfulDelete`/`FailedCreate` events).
//! * [`gc`]: the garbage collector over every served resource, with
//!   Background, Foreground and Orphan propagation.
//! * [`deployment`]: Deployments (RollingUpdate, Recreate, proportional
//!   scaling, revisions and history, conditions and progress deadlines) via
//!   a pure planner and a kube-rs adapter.
//! * [`endpointslice`]: EndpointSlices and core/v1 Endpoints for every
//!   Service with a selector.
//! * [`loadbalancer`]: an address of its own for every LoadBalancer
//!   Service, from [`Options::load_balancer_range`] (only with [`run_with`]).
//!
//! Errors inside one controller are logged and retried; a controller whose
//! loop ends (e.g. discovery failed at start-up) is restarted after a pause.

mod claim;
pub mod deployment;
pub mod endpointslice;
pub mod events;
pub mod gc;
pub mod loadbalancer;
pub mod replicaset;

use std::future::Future;
use std::time::Duration;

/// Pause before restarting a controller whose loop ended.
const RESTART_DELAY: Duration = Duration::from_secs(2);

/// What `slipway up` configures beyond the defaults.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Where LoadBalancer Services get their addresses; `None` leaves them
    /// pending, as on a cluster without a load-balancer implementation.
    pub load_balancer_range: Option<loadbalancer::Ipv4Range>,
}

/// Run every controller until `shutdown` resolves. Errors inside one
/// controller are logged and retried, never fatal.
pub async fn run(client: kube::Client, shutdown: impl Future<Output = ()> + Send + 'static) {
    run_with(client, Options::default(), shutdown).await
}

/// [`run`] with [`Options`].
pub async fn run_with(
    client: kube::Client,
    opts: Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let rs = supervise("replicaset", || {
        let c = client.clone();
        async move {
            replicaset::run(c).await;
            Ok::<(), gc::Error>(())
        }
    });
    let gc = supervise("garbage-collector", || gc::run(client.clone()));
    let deploy = supervise("deployment", || {
        let c = client.clone();
        async move {
            deployment::run(c, std::future::pending()).await;
            Ok::<(), gc::Error>(())
        }
    });
    let eps = supervise("endpointslice", || {
        let c = client.clone();
        async move {
            endpointslice::run(c, std::future::pending::<()>()).await;
            Ok::<(), gc::Error>(())
        }
    });
    let lb = async {
        match opts.load_balancer_range {
            Some(range) => {
                supervise("loadbalancer", || {
                    let c = client.clone();
                    async move {
                        loadbalancer::run(c, range).await;
                        Ok::<(), gc::Error>(())
                    }
                })
                .await
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = shutdown => {}
        _ = async { tokio::join!(rs, gc, deploy, eps, lb) } => {}
    }
}

/// Run `start()` again whenever it returns, logging why.
async fn supervise<F, Fut, E>(name: &'static str, start: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    loop {
        match start().await {
            Ok(()) => tracing::warn!(controller = name, "controller stopped; restarting"),
            Err(e) => {
                tracing::warn!(controller = name, error = %e, "controller failed; restarting")
            }
        }
        tokio::time::sleep(RESTART_DELAY).await;
    }
}

#[cfg(test)]
mod tests {
    /// `run` must be spawnable on a multi-threaded runtime.
    #[allow(dead_code)]
    fn run_is_send(client: kube::Client) {
        fn assert_send<T: Send>(_: &T) {}
        let f = super::run(client, std::future::pending());
        assert_send(&f);
    }
}
