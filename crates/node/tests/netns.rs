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

        // Deleting one pod removes its namespace.
        env.pods()
            .delete("a", &kube::api::DeleteParams::default())
            .await
            .expect("delete");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while netns_list().matches(&prefix).count() != 1 {
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
