//! What the agent knows about a pod, and the `PodStatus` it derives from
//! that: phase (the kubelet's `getPhase` rules), conditions with transition
//! times, and container statuses.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// How a container run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Timestamp,
    pub container_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CState {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: Timestamp,
    },
    Terminated(Term),
}

/// One container as the agent sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CStatus {
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub container_id: Option<String>,
    pub state: CState,
    pub last: Option<Term>,
    pub restart_count: i32,
    pub ready: bool,
    pub started: bool,
    /// The run whose log is current, and the one before it (for `previous`).
    pub log_run: Option<u32>,
    pub prev_run: Option<u32>,
}

impl CStatus {
    pub fn new(name: &str, image: &str) -> CStatus {
        CStatus {
            name: name.to_string(),
            image: image.to_string(),
            image_id: String::new(),
            container_id: None,
            state: CState::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            },
            last: None,
            restart_count: 0,
            ready: false,
            started: false,
            log_run: None,
            prev_run: None,
        }
    }

    fn to_api(&self) -> ContainerStatus {
        ContainerStatus {
            name: self.name.clone(),
            image: self.image.clone(),
            image_id: self.image_id.clone(),
            container_id: self.container_id.clone(),
            ready: self.ready,
            started: Some(self.started),
            restart_count: self.restart_count,
            state: Some(state_api(&self.state)),
            last_state: Some(
                self.last
                    .as_ref()
                    .map(|t| state_api(&CState::Terminated(t.clone())))
                    .unwrap_or_default(),
            ),
            ..Default::default()
        }
    }
}

fn state_api(s: &CState) -> ContainerState {
    match s {
        CState::Waiting { reason, message } => ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.clone()),
                message: message.clone(),
            }),
            ..Default::default()
        },
        CState::Running { started_at } => ContainerState {
            running: Some(ContainerStateRunning {
                started_at: Some(Time(*started_at)),
            }),
            ..Default::default()
        },
        CState::Terminated(t) => ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: t.exit_code,
                signal: t.signal,
                reason: Some(t.reason.clone()),
                message: t.message.clone(),
                started_at: t.started_at.map(Time),
                finished_at: Some(Time(t.finished_at)),
                container_id: t.container_id.clone(),
            }),
            ..Default::default()
        },
    }
}

/// The pod as the agent sees it.
#[derive(Debug, Clone, Default)]
pub struct PodState {
    pub pod_ip: Option<String>,
    pub start_time: Option<Timestamp>,
    pub sandbox_ready: bool,
    pub initialized: bool,
    pub init: Vec<CStatus>,
    pub main: Vec<CStatus>,
    /// Set when init containers failed for good (restartPolicy Never).
    pub init_failed: bool,
    /// Per condition type: (status, when it last changed).
    pub transitions: HashMap<&'static str, (bool, Timestamp)>,
}

impl PodState {
    pub fn container_mut(&mut self, init: bool, idx: usize) -> Option<&mut CStatus> {
        if init {
            self.init.get_mut(idx)
        } else {
            self.main.get_mut(idx)
        }
    }

    pub fn find(&self, name: &str) -> Option<&CStatus> {
        self.main
            .iter()
            .chain(self.init.iter())
            .find(|c| c.name == name)
    }
}

/// The kubelet's phase rules.
pub fn phase(st: &PodState, restart_policy: &str) -> &'static str {
    if st.init_failed {
        return "Failed";
    }
    if !st.initialized {
        return "Pending";
    }
    let (mut waiting, mut running, mut stopped, mut succeeded) = (0, 0, 0, 0);
    for c in &st.main {
        match &c.state {
            CState::Running { .. } => running += 1,
            CState::Terminated(t) => {
                stopped += 1;
                if t.exit_code == 0 {
                    succeeded += 1;
                }
            }
            CState::Waiting { .. } => {
                if c.last.is_some() {
                    stopped += 1;
                } else {
                    waiting += 1;
                }
            }
        }
    }
    if waiting > 0 {
        return "Pending";
    }
    if running > 0 {
        return "Running";
    }
    if stopped > 0 {
        if restart_policy == "Always" {
            return "Running";
        }
        if stopped == succeeded {
            return "Succeeded";
        }
        if restart_policy == "Never" {
            return "Failed";
        }
        return "Running";
    }
    "Pending"
}

/// Build the status the agent writes through `/status`. Transition times
/// are kept in `st` so they change only when a condition does.
pub fn build(pod: &Pod, st: &mut PodState, host_ip: &str, now: Timestamp) -> PodStatus {
    let policy = pod
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.clone())
        .unwrap_or_else(|| "Always".into());
    let phase = phase(st, &policy);
    let terminal = phase == "Succeeded" || phase == "Failed";

    let incomplete_init: Vec<&str> = st
        .init
        .iter()
        .filter(|c| !matches!(&c.state, CState::Terminated(t) if t.exit_code == 0))
        .map(|c| c.name.as_str())
        .collect();
    let unready: Vec<&str> = st
        .main
        .iter()
        .filter(|c| !c.ready)
        .map(|c| c.name.as_str())
        .collect();
    let containers_ready = unready.is_empty() && !terminal;

    let scheduled_time = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
        .and_then(|c| c.last_transition_time.clone());

    let mut conds = Vec::new();
    let mut cond = |t: &'static str, ok: bool, reason: Option<String>, message: Option<String>| {
        let entry = st.transitions.entry(t).or_insert((ok, now));
        if entry.0 != ok {
            *entry = (ok, now);
        }
        PodCondition {
            type_: t.to_string(),
            status: if ok { "True" } else { "False" }.to_string(),
            reason,
            message,
            last_transition_time: Some(Time(entry.1)),
            last_probe_time: None,
            observed_generation: None,
        }
    };
    conds.push(cond(
        "PodReadyToStartContainers",
        st.sandbox_ready,
        None,
        None,
    ));
    conds.push(if st.initialized || st.init.is_empty() && !st.init_failed {
        let reason = (terminal && !st.init.is_empty()).then(|| "PodCompleted".to_string());
        cond("Initialized", true, reason, None)
    } else {
        cond(
            "Initialized",
            false,
            Some("ContainersNotInitialized".into()),
            Some(format!(
                "containers with incomplete status: [{}]",
                incomplete_init.join(" ")
            )),
        )
    });
    let not_ready = |what: &str| -> (Option<String>, Option<String>) {
        if terminal {
            (Some("PodCompleted".into()), None)
        } else {
            (
                Some(what.into()),
                Some(format!(
                    "containers with unready status: [{}]",
                    unready.join(" ")
                )),
            )
        }
    };
    conds.push(if containers_ready {
        cond("Ready", true, None, None)
    } else {
        let (r, m) = not_ready("ContainersNotReady");
        cond("Ready", false, r, m)
    });
    conds.push(if containers_ready {
        cond("ContainersReady", true, None, None)
    } else {
        let (r, m) = not_ready("ContainersNotReady");
        cond("ContainersReady", false, r, m)
    });
    // The scheduler's binding leaves this condition to the agent; its time
    // is fixed the first time it is reported, so rebuilding the status
    // before the first write shows up in the watch does not change it.
    let scheduled_at = st
        .transitions
        .entry("PodScheduled")
        .or_insert((true, scheduled_time.map(|t| t.0).unwrap_or(now)))
        .1;
    conds.push(PodCondition {
        type_: "PodScheduled".into(),
        status: "True".into(),
        last_transition_time: Some(Time(scheduled_at)),
        ..Default::default()
    });

    let mut status = PodStatus {
        phase: Some(phase.to_string()),
        conditions: Some(conds),
        host_ip: Some(host_ip.to_string()),
        host_ips: Some(vec![HostIP {
            ip: host_ip.to_string(),
        }]),
        start_time: st.start_time.map(Time),
        container_statuses: Some(st.main.iter().map(CStatus::to_api).collect()),
        qos_class: pod.status.as_ref().and_then(|s| s.qos_class.clone()),
        ..Default::default()
    };
    if !st.init.is_empty() {
        status.init_container_statuses = Some(st.init.iter().map(CStatus::to_api).collect());
    }
    if let Some(ip) = &st.pod_ip {
        status.pod_ip = Some(ip.clone());
        status.pod_ips = Some(vec![PodIP { ip: ip.clone() }]);
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(code: i32) -> Term {
        Term {
            exit_code: code,
            signal: None,
            reason: if code == 0 { "Completed" } else { "Error" }.into(),
            message: None,
            started_at: None,
            finished_at: Timestamp::UNIX_EPOCH,
            container_id: None,
        }
    }

    fn st(states: Vec<(CState, bool)>) -> PodState {
        PodState {
            initialized: true,
            main: states
                .into_iter()
                .enumerate()
                .map(|(i, (s, had_last))| CStatus {
                    state: s,
                    last: had_last.then(|| term(1)),
                    ..CStatus::new(&format!("c{i}"), "img")
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn phases() {
        let running = CState::Running {
            started_at: Timestamp::UNIX_EPOCH,
        };
        let waiting = CState::Waiting {
            reason: "X".into(),
            message: None,
        };
        assert_eq!(
            phase(&st(vec![(waiting.clone(), false)]), "Always"),
            "Pending"
        );
        assert_eq!(
            phase(&st(vec![(running.clone(), false)]), "Always"),
            "Running"
        );
        assert_eq!(
            phase(&st(vec![(waiting.clone(), true)]), "Always"),
            "Running"
        );
        let done = CState::Terminated(term(0));
        let failed = CState::Terminated(term(1));
        assert_eq!(
            phase(&st(vec![(done.clone(), false)]), "Never"),
            "Succeeded"
        );
        assert_eq!(phase(&st(vec![(done.clone(), false)]), "Always"), "Running");
        assert_eq!(
            phase(&st(vec![(failed.clone(), false), (done, false)]), "Never"),
            "Failed"
        );
        assert_eq!(phase(&st(vec![(failed, false)]), "OnFailure"), "Running");
        let mut s = st(vec![(running, false)]);
        s.initialized = false;
        assert_eq!(phase(&s, "Always"), "Pending");
    }

    #[test]
    fn transition_times_change_only_with_status() {
        let pod = Pod::default();
        let mut s = st(vec![(
            CState::Running {
                started_at: Timestamp::UNIX_EPOCH,
            },
            false,
        )]);
        let t0 = Timestamp::from_second(100).expect("t");
        let t1 = Timestamp::from_second(200).expect("t");
        let t2 = Timestamp::from_second(300).expect("t");
        let ready_time = |p: &PodStatus| {
            p.conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "Ready")
                .map(|c| (c.status.clone(), c.last_transition_time.clone()))
        };
        let a = build(&pod, &mut s, "127.0.0.1", t0);
        assert_eq!(ready_time(&a), Some(("False".into(), Some(Time(t0)))));
        let b = build(&pod, &mut s, "127.0.0.1", t1);
        assert_eq!(ready_time(&b), Some(("False".into(), Some(Time(t0)))));
        s.main[0].ready = true;
        let c = build(&pod, &mut s, "127.0.0.1", t2);
        assert_eq!(ready_time(&c), Some(("True".into(), Some(Time(t2)))));
        assert_eq!(c.phase.as_deref(), Some("Running"));
    }
}
