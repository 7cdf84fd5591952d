//! The node agent against an in-process apiserver: pods run as processes
//! and the API reports what happens to them.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node, Secret};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::json;
use support::*;

async fn events_for(env: &Env, pod: &str) -> Vec<(String, String)> {
    let api: Api<Event> = Api::namespaced(env.client.clone(), "default");
    api.list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(pod))
        .map(|e| (e.reason.unwrap_or_default(), e.message.unwrap_or_default()))
        .collect()
}

async fn wait_event(env: &Env, pod: &str, reason: &str) -> Vec<(String, String)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let evs = events_for(env, pod).await;
        if evs.iter().any(|(r, _)| r == reason) {
            return evs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {reason} event for {pod}: {evs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_runs_and_becomes_ready_with_a_readiness_probe() {
    bounded(90, async {
        let env = start().await;
        // The Node and its Lease.
        let node = Api::<Node>::all(env.client.clone())
            .get("node-1")
            .await
            .expect("node");
        let st = node.status.clone().expect("node status");
        let node_ready = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Ready")
            .map(|c| c.status.clone());
        assert_eq!(node_ready.as_deref(), Some("True"));
        assert_eq!(
            st.daemon_endpoints
                .and_then(|d| d.kubelet_endpoint)
                .map(|k| k.port),
            Some(i32::from(
                env.node.as_ref().expect("node").log_addr().port()
            ))
        );
        assert!(st.capacity.expect("capacity").contains_key("cpu"));
        assert_eq!(st.addresses.expect("addresses")[0].address, "127.0.0.1");
        let lease = Api::<Lease>::namespaced(env.client.clone(), "kube-node-lease")
            .get("node-1")
            .await
            .expect("lease");
        assert_eq!(
            lease.spec.and_then(|s| s.holder_identity).as_deref(),
            Some("node-1")
        );

        env.create(json!({
            "metadata": {"name": "web"},
            "spec": {"containers": [{
                "name": "web", "image": "web",
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
            }]}
        }))
        .await;
        let p = env.wait_pod("web", "Ready", ready).await;
        let st = p.status.clone().expect("status");
        assert_eq!(st.phase.as_deref(), Some("Running"));
        assert_eq!(
            p.spec.as_ref().and_then(|s| s.node_name.as_deref()),
            Some("node-1")
        );
        let ip = st.pod_ip.clone().expect("pod ip");
        assert!(ip.starts_with("127.") && ip != "127.0.0.1", "{ip}");
        assert_eq!(st.host_ip.as_deref(), Some("127.0.0.1"));
        assert!(st.start_time.is_some());
        for c in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            assert_eq!(condition(&p, c).as_deref(), Some("True"), "{c}");
        }
        let cs = container_status(&p, "web").expect("container status");
        assert!(cs.ready && cs.started == Some(true) && cs.restart_count == 0);
        assert!(cs.container_id.expect("id").starts_with("slipway://"));
        assert!(cs.state.and_then(|s| s.running).is_some());

        // The app listens on its own address.
        let mut s = tokio::net::TcpStream::connect((ip.as_str(), 8080))
            .await
            .expect("connect to pod");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.expect("write");
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.expect("read");
        assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.0 200"));

        let evs = wait_event(&env, "web", "Started").await;
        let reasons: Vec<&str> = evs.iter().map(|(r, _)| r.as_str()).collect();
        for r in ["Scheduled", "Pulled", "Created", "Started"] {
            assert!(reasons.contains(&r), "{r} missing in {evs:?}");
        }
        assert!(evs.contains(&(
            "Scheduled".into(),
            "Successfully assigned default/web to node-1".into()
        )));
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_sources_and_init_containers_reach_the_process() {
    bounded(90, async {
        let env = start().await;
        let out = env.dir.path().join("env.txt");
        let marker = env.dir.path().join("init.txt");
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "cfg"}, "data": {"color": "blue", "size": "xl"}})).expect("cm");
        Api::<ConfigMap>::namespaced(env.client.clone(), "default")
            .create(&PostParams::default(), &cm)
            .await
            .expect("cm");
        let sec: Secret = serde_json::from_value(json!({"metadata": {"name": "sec"}, "stringData": {"password": "hunter2"}})).expect("secret");
        Api::<Secret>::namespaced(env.client.clone(), "default")
            .create(&PostParams::default(), &sec)
            .await
            .expect("secret");
        env.create(json!({
            "metadata": {"name": "envy", "labels": {"app": "envy"}},
            "spec": {
                "restartPolicy": "Never",
                "initContainers": [{"name": "init", "image": "shell",
                    "args": [format!("echo init-ran > {}", marker.display())]}],
                "containers": [{
                    "name": "main", "image": "shell",
                    "args": [format!("test -f {m} && env > {o}.tmp && pwd >> {o}.tmp && mv {o}.tmp {o}", m = marker.display(), o = out.display())],
                    "workingDir": "/tmp",
                    "ports": [{"containerPort": 9000}],
                    "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
                    "env": [
                        {"name": "GREETING", "value": "hello"},
                        {"name": "COMPOSED", "value": "$(GREETING)-$(CFG_color)"},
                        {"name": "MY_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "MY_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        {"name": "MY_APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                        {"name": "MY_NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                        {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                        {"name": "MY_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
                        {"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "color"}}},
                        {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
                        {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}
                    ],
                    "resources": {"limits": {"memory": "128Mi"}}
                }]
            }
        }))
        .await;
        let p = env
            .wait_pod("envy", "Succeeded", |p| {
                p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
            })
            .await;
        let text = std::fs::read_to_string(&out).expect("env file");
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(str::to_string)
        };
        let ip = p.status.as_ref().and_then(|s| s.pod_ip.clone()).expect("ip");
        assert_eq!(get("GREETING").as_deref(), Some("hello"));
        assert_eq!(get("COMPOSED").as_deref(), Some("hello-blue"));
        assert_eq!(get("CFG_size").as_deref(), Some("xl"));
        assert_eq!(get("MY_NAME").as_deref(), Some("envy"));
        assert_eq!(get("MY_NS").as_deref(), Some("default"));
        assert_eq!(get("MY_APP").as_deref(), Some("envy"));
        assert_eq!(get("MY_NODE").as_deref(), Some("node-1"));
        assert_eq!(get("MY_IP"), Some(ip.clone()));
        assert_eq!(get("POD_IP"), Some(ip));
        assert_eq!(get("MY_HOST").as_deref(), Some("127.0.0.1"));
        assert_eq!(get("COLOR").as_deref(), Some("blue"));
        assert_eq!(get("PASSWORD").as_deref(), Some("hunter2"));
        assert_eq!(get("MEM").as_deref(), Some("128"));
        assert_eq!(get("PORT").as_deref(), Some("9000"));
        assert_eq!(get("HOSTNAME").as_deref(), Some("envy"));
        assert!(get("KUBERNETES_SERVICE_HOST").is_some(), "service links: {text}");
        assert!(text.lines().any(|l| l == "/tmp"), "workingDir: {text}");
        let cs = container_status(&p, "main").expect("status");
        let term = cs.state.and_then(|s| s.terminated).expect("terminated");
        assert_eq!((term.exit_code, term.reason.as_deref()), (0, Some("Completed")));
        let init = p.status.as_ref().and_then(|s| s.init_container_statuses.clone()).expect("init statuses");
        assert_eq!(init[0].state.as_ref().and_then(|s| s.terminated.as_ref()).map(|t| t.exit_code), Some(0));
        assert_eq!(condition(&p, "Initialized").as_deref(), Some("True"));
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_image_waits_with_image_pull_errors() {
    bounded(60, async {
        let env = start().await;
        env.create(json!({"metadata": {"name": "ghost"}, "spec": {"containers": [{"name": "c", "image": "no-such-image:1"}]}}))
            .await;
        let p = env
            .wait_pod("ghost", "ImagePullBackOff", |p| {
                waiting_reason(p, "c").as_deref() == Some("ImagePullBackOff")
            })
            .await;
        let msg = container_status(&p, "c")
            .and_then(|c| c.state)
            .and_then(|s| s.waiting)
            .and_then(|w| w.message)
            .unwrap_or_default();
        assert!(msg.contains("no-such-image:1") && msg.contains("images.yaml"), "{msg}");
        assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Pending"));
        wait_event(&env, "ghost", "BackOff").await;
        let (status, body) = env
            .log_request("/containerLogs/default/ghost/c", TOKEN, Duration::from_secs(5))
            .await;
        assert!(status.contains("400"), "{status}");
        assert!(body.contains("\"c\" in pod \"ghost\" is waiting to start: "), "{body}");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_restarts_the_container_and_keeps_previous_logs() {
    bounded(90, async {
        let env = start().await;
        env.create(
            json!({"metadata": {"name": "loop"}, "spec": {"containers": [{
                "name": "c", "image": "shell",
                "args": ["echo started-$$$$; while true; do echo tick; sleep 0.2; done"]
            }]}}),
        )
        .await;
        env.wait_pod("loop", "Ready", ready).await;
        let pids = recorded_pids(&env.node_dir());
        assert_eq!(pids.len(), 1);
        let old = pids[0];
        // Let some output reach the log.
        tokio::time::sleep(Duration::from_millis(600)).await;
        std::process::Command::new("kill")
            .args(["-9", &old.to_string()])
            .status()
            .expect("kill");
        let p = env
            .wait_pod("loop", "restart", |p| {
                container_status(p, "c").is_some_and(|c| c.restart_count == 1) && ready(p)
            })
            .await;
        let cs = container_status(&p, "c").expect("status");
        let last = cs
            .last_state
            .and_then(|s| s.terminated)
            .expect("last state");
        assert_eq!(last.exit_code, 137);
        assert_eq!(last.signal, Some(9));
        let new = recorded_pids(&env.node_dir());
        assert_eq!(new.len(), 1);
        assert_ne!(new[0], old);
        assert!(!alive(old));

        let (status, body) = env
            .log_request(
                "/containerLogs/default/loop/c?previous=true",
                TOKEN,
                Duration::from_secs(5),
            )
            .await;
        assert!(status.contains("200"), "{status}");
        assert!(
            body.starts_with(&format!("started-{old}\ntick\n")),
            "{body}"
        );
        // The new run's first line reaches its log shortly after it starts.
        let mut body = String::new();
        for _ in 0..50 {
            body = env
                .log_request(
                    "/containerLogs/default/loop/c",
                    TOKEN,
                    Duration::from_secs(5),
                )
                .await
                .1;
            if !body.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(body.starts_with(&format!("started-{}\n", new[0])), "{body}");
        wait_event(&env, "loop", "Started").await;
        env.shutdown().await;
        assert!(!alive(new[0]), "shutdown leaves no process");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_liveness_restarts_with_back_off() {
    bounded(90, async {
        let env = start().await;
        env.create(json!({"metadata": {"name": "sick"}, "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{
                "name": "c", "image": "shell", "args": ["sleep 3600"],
                "livenessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
            }]}}))
        .await;
        let p = env
            .wait_pod("sick", "CrashLoopBackOff", |p| {
                waiting_reason(p, "c").as_deref() == Some("CrashLoopBackOff")
            })
            .await;
        let cs = container_status(&p, "c").expect("status");
        assert!(cs.restart_count >= 1, "{cs:?}");
        let msg = cs.state.and_then(|s| s.waiting).and_then(|w| w.message).unwrap_or_default();
        assert!(msg.starts_with("back-off 10s restarting failed container=c pod=sick_default("), "{msg}");
        assert!(cs.last_state.and_then(|s| s.terminated).is_some());
        assert_eq!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Running"));
        assert!(!ready(&p));
        let evs = wait_event(&env, "sick", "BackOff").await;
        assert!(evs.iter().any(|(r, m)| r == "Unhealthy" && m.starts_with("Liveness probe failed")), "{evs:?}");
        assert!(evs
            .iter()
            .any(|(r, m)| r == "Killing" && m == "Container c failed liveness probe, will be restarted"));
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_delete_runs_pre_stop_then_sigterm_then_removes_the_pod() {
    bounded(90, async {
        let env = start().await;
        let trace = env.dir.path().join("trace.txt");
        let post = env.dir.path().join("post.txt");
        env.create(json!({"metadata": {"name": "polite"}, "spec": {"containers": [{
            "name": "c", "image": "shell",
            "args": [format!("trap 'echo sigterm >> {t}; exit 0' TERM; echo started >> {t}; while true; do sleep 0.1; done", t = trace.display())],
            "lifecycle": {
                "preStop": {"exec": {"command": ["sh", "-c", format!("echo prestop >> {}", trace.display())]}},
                "postStart": {"exec": {"command": ["sh", "-c", format!("echo poststart-$MY_VAR > {}", post.display())]}}
            },
            "env": [{"name": "MY_VAR", "value": "x"}]
        }]}}))
        .await;
        env.wait_pod("polite", "Ready", ready).await;
        let pid = recorded_pids(&env.node_dir())[0];
        env.pods()
            .delete("polite", &DeleteParams { grace_period_seconds: Some(10), ..Default::default() })
            .await
            .expect("delete");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            match env.pods().get_opt("polite").await.expect("get") {
                None => break,
                Some(_) => {
                    assert!(tokio::time::Instant::now() < deadline, "pod was not removed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        let text = std::fs::read_to_string(&trace).expect("trace");
        assert_eq!(text, "started\nprestop\nsigterm\n");
        assert_eq!(std::fs::read_to_string(&post).expect("postStart ran"), "poststart-x\n");
        assert!(!alive(pid));
        let evs = events_for(&env, "polite").await;
        assert!(evs.contains(&("Killing".into(), "Stopping container c".into())), "{evs:?}");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_server_tails_follows_and_requires_the_token() {
    bounded(90, async {
        let env = start().await;
        env.create(json!({"metadata": {"name": "talker"}, "spec": {"containers": [{
            "name": "c", "image": "shell",
            "args": ["i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.1; done"]
        }]}}))
        .await;
        env.wait_pod("talker", "Ready", ready).await;
        tokio::time::sleep(Duration::from_millis(800)).await;

        let (status, _) = env
            .log_request("/containerLogs/default/talker/c", "wrong", Duration::from_secs(5))
            .await;
        assert!(status.contains("401"), "{status}");
        let (status, _) = env
            .log_request("/containerLogs/default/nobody/c", TOKEN, Duration::from_secs(5))
            .await;
        assert!(status.contains("404"), "{status}");

        let (status, body) = env
            .log_request("/containerLogs/default/talker/c?tailLines=2", TOKEN, Duration::from_secs(5))
            .await;
        assert!(status.contains("200"), "{status}");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 2, "{body}");
        let n: u32 = lines[1].trim_start_matches("line-").parse().expect("n");
        assert_eq!(lines[0], format!("line-{}", n - 1));

        let (_, body) = env
            .log_request("/containerLogs/default/talker/c?tailLines=1&timestamps=true", TOKEN, Duration::from_secs(5))
            .await;
        let (ts, rest) = body.trim_end().split_once(' ').expect("timestamp");
        assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
        assert!(rest.starts_with("line-"));

        let (_, body) = env
            .log_request("/containerLogs/default/talker/c?limitBytes=5", TOKEN, Duration::from_secs(5))
            .await;
        assert_eq!(body, "line-");

        // Follow: the stream stays open and new lines keep coming.
        let (status, body) = env
            .log_request("/containerLogs/default/talker/c?follow=true&tailLines=1", TOKEN, Duration::from_millis(1500))
            .await;
        assert!(status.contains("200"), "{status}");
        let seen: Vec<u32> = body
            .lines()
            .filter_map(|l| l.strip_prefix("line-"))
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        assert!(seen.len() >= 5, "follow delivered too little: {body:?}");
        assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");

        // A follow ends when the container does.
        let follow = {
            let addr = env.node.as_ref().expect("node").log_addr();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                let req = format!("GET /containerLogs/default/talker/c?follow=true&tailLines=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n");
                s.write_all(req.as_bytes()).await.expect("write");
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).await.map(|_| buf)
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        env.pods()
            .delete("talker", &DeleteParams { grace_period_seconds: Some(1), ..Default::default() })
            .await
            .expect("delete");
        let body = tokio::time::timeout(Duration::from_secs(15), follow)
            .await
            .expect("follow ended with the container")
            .expect("join")
            .expect("read");
        assert!(String::from_utf8_lossy(&body).contains("line-"));
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_adopts_running_pods() {
    bounded(120, async {
        let mut env = start().await;
        env.create(
            json!({"metadata": {"name": "steady"}, "spec": {"containers": [{
                "name": "web", "image": "web",
                "ports": [{"containerPort": 8080}],
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
            }]}}),
        )
        .await;
        let before = env.wait_pod("steady", "Ready", ready).await;
        let pid = recorded_pids(&env.node_dir())[0];
        // As kill -9 of slipway: the agent goes, the process stays.
        env.node.take().expect("node").abandon().await;
        assert!(alive(pid));
        env.start_node().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = env.wait_pod("steady", "Ready after restart", ready).await;
        let cs = container_status(&after, "web").expect("status");
        assert_eq!(cs.restart_count, 0);
        assert_eq!(
            cs.container_id,
            container_status(&before, "web").and_then(|c| c.container_id)
        );
        assert_eq!(
            recorded_pids(&env.node_dir()),
            vec![pid],
            "no duplicate process"
        );
        assert!(alive(pid));
        assert_eq!(
            after.status.as_ref().and_then(|s| s.pod_ip.clone()),
            before.status.as_ref().and_then(|s| s.pod_ip.clone())
        );
        // The new agent supervises the adopted process.
        std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        env.wait_pod("steady", "restart of the adopted container", |p| {
            container_status(p, "web").is_some_and(|c| c.restart_count == 1) && ready(p)
        })
        .await;
        let now = recorded_pids(&env.node_dir());
        assert_eq!(now.len(), 1);
        assert_ne!(now[0], pid);
        let pid = now[0];
        env.shutdown().await;
        assert!(!alive(pid), "graceful shutdown stops adopted processes");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_is_recorded_and_the_next_start_restarts_pods() {
    bounded(120, async {
        let mut env = start().await;
        env.create(
            json!({"metadata": {"name": "again"}, "spec": {"containers": [{
                "name": "c", "image": "shell",
                "args": ["echo run-$$$$; while true; do sleep 0.2; done"]
            }]}}),
        )
        .await;
        env.wait_pod("again", "Ready", ready).await;
        let pid = recorded_pids(&env.node_dir())[0];
        env.node.take().expect("node").shutdown().await;
        assert!(!alive(pid));
        // The API says what happened.
        let p = env.pods().get("again").await.expect("pod");
        assert!(!ready(&p));
        let term = container_status(&p, "c")
            .and_then(|c| c.state)
            .and_then(|s| s.terminated)
            .expect("terminated while the agent is down");
        assert_eq!(term.signal, Some(15));
        let node = Api::<Node>::all(env.client.clone())
            .get("node-1")
            .await
            .expect("node");
        let node_ready = node
            .status
            .and_then(|s| s.conditions)
            .and_then(|cs| cs.into_iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status);
        assert_eq!(node_ready.as_deref(), Some("False"));

        env.start_node().await;
        let p = env
            .wait_pod("again", "Ready after start", |p| {
                ready(p) && container_status(p, "c").is_some_and(|c| c.restart_count == 1)
            })
            .await;
        let last = container_status(&p, "c")
            .and_then(|c| c.last_state)
            .and_then(|s| s.terminated)
            .expect("last state");
        assert_eq!(last.exit_code, 143);
        let now = recorded_pids(&env.node_dir());
        assert_eq!(now.len(), 1);
        assert!(alive(now[0]));
        let (_, body) = env
            .log_request(
                "/containerLogs/default/again/c?previous=true",
                TOKEN,
                Duration::from_secs(5),
            )
            .await;
        assert_eq!(body, format!("run-{pid}\n"));
        env.shutdown().await;
        assert!(!alive(now[0]));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_deleted_pods_lose_their_processes_and_files() {
    bounded(60, async {
        let env = start().await;
        let p = env
            .create(
                json!({"metadata": {"name": "doomed"}, "spec": {"containers": [{
                    "name": "c", "image": "shell", "args": ["sleep 3600"]
                }]}}),
            )
            .await;
        env.wait_pod("doomed", "Ready", ready).await;
        let pid = recorded_pids(&env.node_dir())[0];
        env.pods()
            .delete(
                "doomed",
                &DeleteParams {
                    grace_period_seconds: Some(0),
                    ..Default::default()
                },
            )
            .await
            .expect("delete");
        let uid = p.metadata.uid.expect("uid");
        let pod_dir = env.node_dir().join("pods").join(uid);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while alive(pid) || pod_dir.exists() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "process or files left behind"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_pods_keep_status_and_logs_across_agent_restarts() {
    bounded(90, async {
        let mut env = start().await;
        env.create(json!({"metadata": {"name": "once"}, "spec": {
            "restartPolicy": "OnFailure",
            "containers": [{"name": "c", "image": "shell", "args": ["echo finished"]}]
        }}))
        .await;
        let succeeded = |p: &k8s_openapi::api::core::v1::Pod| {
            p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Succeeded")
        };
        env.wait_pod("once", "Succeeded", succeeded).await;
        env.node.take().expect("node").shutdown().await;
        env.start_node().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let p = env.wait_pod("once", "still Succeeded", succeeded).await;
        let cs = container_status(&p, "c").expect("status");
        assert_eq!(cs.restart_count, 0);
        let term = cs.state.and_then(|s| s.terminated).expect("terminated");
        assert_eq!(term.reason.as_deref(), Some("Completed"));
        let (status, body) = env
            .log_request(
                "/containerLogs/default/once/c",
                TOKEN,
                Duration::from_secs(5),
            )
            .await;
        assert!(status.contains("200"), "{status}");
        assert_eq!(body, "finished\n");
        env.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_container_image_restarts_it() {
    bounded(90, async {
        let env = start().await;
        env.create(
            json!({"metadata": {"name": "swap"}, "spec": {"containers": [{
                "name": "c", "image": "shell:v1", "args": ["while true; do sleep 0.2; done"]
            }]}}),
        )
        .await;
        env.wait_pod("swap", "Ready", ready).await;
        let patch = json!({"spec": {"containers": [{"name": "c", "image": "shell:v2"}]}});
        env.pods()
            .patch(
                "swap",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Strategic(patch),
            )
            .await
            .expect("patch image");
        let p = env
            .wait_pod("swap", "restart with the new image", |p| {
                container_status(p, "c")
                    .is_some_and(|c| c.restart_count == 1 && c.image == "shell:v2")
                    && ready(p)
            })
            .await;
        assert!(container_status(&p, "c")
            .and_then(|c| c.last_state)
            .and_then(|s| s.terminated)
            .is_some());
        let evs = wait_event(&env, "swap", "Killing").await;
        assert!(
            evs.contains(&(
                "Killing".into(),
                "Container c definition changed, will be restarted".into()
            )),
            "{evs:?}"
        );
        env.shutdown().await;
    })
    .await;
}
