//! Per-pod network namespaces (root only; skipped otherwise): unmodified
//! servers bind 0.0.0.0 on the same port side by side, and everything the
//! agent created is gone after a graceful stop.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

fn netns_list() -> String {
    std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

fn links() -> String {
    std::process::Command::new("ip")
        .args(["-o", "link"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_in_namespaces_share_a_port_and_are_cleaned_up() {
    if !node::net::namespaces_available() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    bounded(120, async {
        let mut env = start_mode(node::NetworkMode::Namespaces).await;
        let block = std::fs::read_to_string(env.node_dir().join("node").join("netns-block"))
            .expect("block file");
        let prefix = format!("slw{:04x}", block.trim().parse::<u32>().expect("block"));
        for name in ["a", "b"] {
            env.create(json!({"metadata": {"name": name}, "spec": {"containers": [{
                "name": "web", "image": "anyweb",
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
            }]}}))
            .await;
        }
        let mut ips = Vec::new();
        for name in ["a", "b"] {
            let p = env.wait_pod(name, "Ready", ready).await;
            let ip = p.status.and_then(|s| s.pod_ip).expect("ip");
            assert!(ip.starts_with("10.24"), "{ip}");
            ips.push(ip);
        }
        assert_ne!(ips[0], ips[1]);
        // Both listen on 0.0.0.0:8080, each in its own namespace; the host reaches both.
        for ip in &ips {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::TcpStream::connect((ip.as_str(), 8080)),
            )
            .await
            .expect("connect in time")
            .expect("connect");
            s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.expect("write");
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await.expect("read");
            assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.0 200"));
        }
        let list = netns_list();
        assert_eq!(list.matches(&prefix).count(), 2, "{list}");
        assert!(
            links().contains(&format!("{prefix}:")),
            "bridge {prefix} exists"
        );

        // Deleting one pod removes its namespace (and then its records).
        env.pods()
            .delete("a", &kube::api::DeleteParams::default())
            .await
            .expect("delete");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while netns_list().matches(&prefix).count() != 1
            || recorded_pids(&env.node_dir()).len() != 1
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "namespace of a left: {}",
                netns_list()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // An agent restart (as after kill -9) adopts b in its namespace.
        let pids = recorded_pids(&env.node_dir());
        assert_eq!(pids.len(), 1);
        env.node.take().expect("node").abandon().await;
        env.start_node().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let p = env.wait_pod("b", "Ready after restart", ready).await;
        assert_eq!(p.status.and_then(|s| s.pod_ip).as_ref(), Some(&ips[1]));
        assert_eq!(recorded_pids(&env.node_dir()), pids);
        assert!(alive(pids[0]));
        assert_eq!(netns_list().matches(&prefix).count(), 1);

        env.shutdown().await;
        assert!(!alive(pids[0]));
        assert!(!netns_list().contains(&prefix), "{}", netns_list());
        assert!(!links().contains(&prefix), "{}", links());
    })
    .await;
}

fn veths(prefix: &str) -> Vec<String> {
    links()
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(|n| n.trim().split('@').next().unwrap_or("").to_string())
        .filter(|n| n.starts_with(&format!("{prefix}v")))
        .collect()
}

/// Network and mount namespaces together: a container's mount namespace
/// holds copies of other pods' `/run/netns` mounts; deleting such a pod
/// must still free its namespace and veth (the kernel detaches mounts on
/// an unlinked file in every namespace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mount_namespaces_do_not_keep_deleted_pods_networks_alive() {
    if !node::net::namespaces_available() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    bounded(120, async {
        let env = start_opts(node::Options {
            network: node::NetworkMode::Namespaces,
            mounts: node::MountMode::Namespaces,
            ..Default::default()
        })
        .await;
        let block = std::fs::read_to_string(env.node_dir().join("node").join("netns-block"))
            .expect("block file");
        let prefix = format!("slw{:04x}", block.trim().parse::<u32>().expect("block"));
        // The victim first, so the keeper's mount namespace copies its netns mount.
        for name in ["victim", "keeper"] {
            env.create(json!({"metadata": {"name": name}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{
                    "name": "web", "image": "anyweb",
                    "ports": [{"containerPort": 8080}],
                    "readinessProbe": {"exec": {"command": ["sh", "-c", "test -d /tmp && ! test -e /run/nothing-here"]}, "periodSeconds": 1}
                }]}}))
            .await;
            env.wait_pod(name, "Ready", ready).await;
        }
        assert_eq!(veths(&prefix).len(), 2, "{}", links());
        let names = |list: String| -> Vec<String> {
            list.lines()
                .filter_map(|l| l.split_whitespace().next())
                .filter(|n| n.starts_with(&prefix))
                .map(str::to_string)
                .collect()
        };
        let before = names(netns_list());
        let pids_before = recorded_pids(&env.node_dir());
        let pins = |pid: u32, ns: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
                .expect("mountinfo")
                .contains(&format!("/run/netns/{ns} "))
        };
        // The keeper started second: its namespace has copies of both mounts.
        assert!(pids_before
            .iter()
            .any(|p| before.iter().all(|ns| pins(*p, ns))));
        env.pods()
            .delete("victim", &kube::api::DeleteParams::default())
            .await
            .expect("delete");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while veths(&prefix).len() != 1 || names(netns_list()).len() != 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the victim's network stays: {} {}",
                links(),
                netns_list()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = names(netns_list());
        let victim_ns = before
            .iter()
            .find(|n| !after.contains(n))
            .expect("victim namespace")
            .clone();
        let keeper = recorded_pids(&env.node_dir());
        assert_eq!(keeper.len(), 1);
        assert!(pids_before.contains(&keeper[0]));
        // The keeper's own mount table no longer holds the victim's netns.
        assert!(!pins(keeper[0], &victim_ns), "the keeper pins {victim_ns}");
        env.shutdown().await;
        assert!(!links().contains(&prefix), "{}", links());
    })
    .await;
}
