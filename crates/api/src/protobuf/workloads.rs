//! `k8s.io/api/apps/v1`, `batch/v1`, `discovery/v1` and `coordination/v1`.

use super::corev1::{OBJECT_REFERENCE, POD_TEMPLATE_SPEC};
use super::desc::*;
use super::meta::{LABEL_SELECTOR, OBJECT_META};

// === apps/v1 ===

msg! { ROLLING_UPDATE_DEPLOYMENT, "RollingUpdateDeployment", [
    iosp(1, "maxUnavailable"),
    iosp(2, "maxSurge"),
]}

msg! { DEPLOYMENT_STRATEGY, "DeploymentStrategy", [
    s(1, "type"),
    mp(2, "rollingUpdate", &ROLLING_UPDATE_DEPLOYMENT),
]}

msg! { DEPLOYMENT_SPEC, "DeploymentSpec", [
    i32p(1, "replicas"),
    mp(2, "selector", &LABEL_SELECTOR),
    m(3, "template", &POD_TEMPLATE_SPEC),
    m(4, "strategy", &DEPLOYMENT_STRATEGY),
    i32_(5, "minReadySeconds"),
    i32p(6, "revisionHistoryLimit"),
    b(7, "paused"),
    i32p(9, "progressDeadlineSeconds"),
]}

msg! { DEPLOYMENT_CONDITION, "DeploymentCondition", [
    s(1, "type"),
    s(2, "status"),
    time(6, "lastUpdateTime"),
    time(7, "lastTransitionTime"),
    s(4, "reason"),
    s(5, "message"),
]}

msg! { DEPLOYMENT_STATUS, "DeploymentStatus", [
    i64_(1, "observedGeneration"),
    i32_(2, "replicas"),
    i32_(3, "updatedReplicas"),
    i32_(7, "readyReplicas"),
    i32_(4, "availableReplicas"),
    i32_(5, "unavailableReplicas"),
    i32p(9, "terminatingReplicas"),
    rm(6, "conditions", &DEPLOYMENT_CONDITION),
    i32p(8, "collisionCount"),
]}

msg! { DEPLOYMENT, "Deployment", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &DEPLOYMENT_SPEC),
    m(3, "status", &DEPLOYMENT_STATUS),
]}

msg! { REPLICA_SET_SPEC, "ReplicaSetSpec", [
    i32p(1, "replicas"),
    i32_(4, "minReadySeconds"),
    mp(2, "selector", &LABEL_SELECTOR),
    m(3, "template", &POD_TEMPLATE_SPEC),
]}

msg! { REPLICA_SET_CONDITION, "ReplicaSetCondition", [
    s(1, "type"),
    s(2, "status"),
    time(3, "lastTransitionTime"),
    s(4, "reason"),
    s(5, "message"),
]}

msg! { REPLICA_SET_STATUS, "ReplicaSetStatus", [
    i32_(1, "replicas"),
    i32_(2, "fullyLabeledReplicas"),
    i32_(4, "readyReplicas"),
    i32_(5, "availableReplicas"),
    i32p(7, "terminatingReplicas"),
    i64_(3, "observedGeneration"),
    rm(6, "conditions", &REPLICA_SET_CONDITION),
]}

msg! { REPLICA_SET, "ReplicaSet", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &REPLICA_SET_SPEC),
    m(3, "status", &REPLICA_SET_STATUS),
]}

msg! { ROLLING_UPDATE_DAEMON_SET, "RollingUpdateDaemonSet", [
    iosp(1, "maxUnavailable"),
    iosp(2, "maxSurge"),
]}

msg! { DAEMON_SET_UPDATE_STRATEGY, "DaemonSetUpdateStrategy", [
    s(1, "type"),
    mp(2, "rollingUpdate", &ROLLING_UPDATE_DAEMON_SET),
]}

msg! { DAEMON_SET_SPEC, "DaemonSetSpec", [
    mp(1, "selector", &LABEL_SELECTOR),
    m(2, "template", &POD_TEMPLATE_SPEC),
    m(3, "updateStrategy", &DAEMON_SET_UPDATE_STRATEGY),
    i32_(4, "minReadySeconds"),
    i32p(6, "revisionHistoryLimit"),
]}

msg! { DAEMON_SET_CONDITION, "DaemonSetCondition", [
    s(1, "type"),
    s(2, "status"),
    time(3, "lastTransitionTime"),
    s(4, "reason"),
    s(5, "message"),
]}

msg! { DAEMON_SET_STATUS, "DaemonSetStatus", [
    i32_(1, "currentNumberScheduled"),
    i32_(2, "numberMisscheduled"),
    i32_(3, "desiredNumberScheduled"),
    i32_(4, "numberReady"),
    i64_(5, "observedGeneration"),
    i32_(6, "updatedNumberScheduled"),
    i32_(7, "numberAvailable"),
    i32_(8, "numberUnavailable"),
    i32p(9, "collisionCount"),
    rm(10, "conditions", &DAEMON_SET_CONDITION),
]}

msg! { DAEMON_SET, "DaemonSet", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &DAEMON_SET_SPEC),
    m(3, "status", &DAEMON_SET_STATUS),
]}

msg! { CONTROLLER_REVISION, "ControllerRevision", [
    m(1, "metadata", &OBJECT_META),
    raw(2, "data"),
    i64_(3, "revision"),
]}

// === batch/v1 ===

msg! { POD_FAILURE_POLICY_ON_EXIT_CODES, "PodFailurePolicyOnExitCodesRequirement", [
    sp(1, "containerName"),
    s(2, "operator"),
    ri32(3, "values"),
]}

msg! { POD_FAILURE_POLICY_ON_POD_CONDITIONS, "PodFailurePolicyOnPodConditionsPattern", [
    s(1, "type"),
    s(2, "status"),
]}

msg! { POD_FAILURE_POLICY_RULE, "PodFailurePolicyRule", [
    s(1, "action"),
    mp(2, "onExitCodes", &POD_FAILURE_POLICY_ON_EXIT_CODES),
    rm(3, "onPodConditions", &POD_FAILURE_POLICY_ON_POD_CONDITIONS),
]}

msg! { POD_FAILURE_POLICY, "PodFailurePolicy", [rm(1, "rules", &POD_FAILURE_POLICY_RULE)] }

msg! { SUCCESS_POLICY_RULE, "SuccessPolicyRule", [
    sp(1, "succeededIndexes"),
    i32p(2, "succeededCount"),
]}

msg! { SUCCESS_POLICY, "SuccessPolicy", [rm(1, "rules", &SUCCESS_POLICY_RULE)] }

msg! { JOB_SPEC, "JobSpec", [
    i32p(1, "parallelism"),
    i32p(2, "completions"),
    i64p(3, "activeDeadlineSeconds"),
    mp(11, "podFailurePolicy", &POD_FAILURE_POLICY),
    mp(16, "successPolicy", &SUCCESS_POLICY),
    i32p(7, "backoffLimit"),
    i32p(12, "backoffLimitPerIndex"),
    i32p(13, "maxFailedIndexes"),
    mp(4, "selector", &LABEL_SELECTOR),
    bp(5, "manualSelector"),
    m(6, "template", &POD_TEMPLATE_SPEC),
    i32p(8, "ttlSecondsAfterFinished"),
    sp(9, "completionMode"),
    bp(10, "suspend"),
    sp(14, "podReplacementPolicy"),
    sp(15, "managedBy"),
]}

msg! { JOB_CONDITION, "JobCondition", [
    s(1, "type"),
    s(2, "status"),
    time(3, "lastProbeTime"),
    time(4, "lastTransitionTime"),
    s(5, "reason"),
    s(6, "message"),
]}

msg! { UNCOUNTED_TERMINATED_PODS, "UncountedTerminatedPods", [rs(1, "succeeded"), rs(2, "failed")] }

msg! { JOB_STATUS, "JobStatus", [
    rm(1, "conditions", &JOB_CONDITION),
    timep(2, "startTime"),
    timep(3, "completionTime"),
    i32_(4, "active"),
    i32_(5, "succeeded"),
    i32_(6, "failed"),
    i32p(11, "terminating"),
    s(7, "completedIndexes"),
    sp(10, "failedIndexes"),
    mp(8, "uncountedTerminatedPods", &UNCOUNTED_TERMINATED_PODS),
    i32p(9, "ready"),
]}

msg! { JOB, "Job", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &JOB_SPEC),
    m(3, "status", &JOB_STATUS),
]}

msg! { JOB_TEMPLATE_SPEC, "JobTemplateSpec", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &JOB_SPEC),
]}

msg! { CRON_JOB_SPEC, "CronJobSpec", [
    s(1, "schedule"),
    sp(8, "timeZone"),
    i64p(2, "startingDeadlineSeconds"),
    s(3, "concurrencyPolicy"),
    bp(4, "suspend"),
    m(5, "jobTemplate", &JOB_TEMPLATE_SPEC),
    i32p(6, "successfulJobsHistoryLimit"),
    i32p(7, "failedJobsHistoryLimit"),
]}

msg! { CRON_JOB_STATUS, "CronJobStatus", [
    rm(1, "active", &OBJECT_REFERENCE),
    timep(4, "lastScheduleTime"),
    timep(5, "lastSuccessfulTime"),
]}

msg! { CRON_JOB, "CronJob", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &CRON_JOB_SPEC),
    m(3, "status", &CRON_JOB_STATUS),
]}

// === discovery.k8s.io/v1 ===

msg! { ENDPOINT_CONDITIONS, "EndpointConditions", [
    bp(1, "ready"),
    bp(2, "serving"),
    bp(3, "terminating"),
]}

msg! { FOR_ZONE, "ForZone", [s(1, "name")] }

msg! { FOR_NODE, "ForNode", [s(1, "name")] }

msg! { ENDPOINT_HINTS, "EndpointHints", [
    rm(1, "forZones", &FOR_ZONE),
    rm(2, "forNodes", &FOR_NODE),
]}

msg! { ENDPOINT, "Endpoint", [
    rs(1, "addresses"),
    m(2, "conditions", &ENDPOINT_CONDITIONS),
    sp(3, "hostname"),
    mp(4, "targetRef", &OBJECT_REFERENCE),
    map_s(5, "deprecatedTopology"),
    sp(6, "nodeName"),
    sp(7, "zone"),
    mp(8, "hints", &ENDPOINT_HINTS),
]}

msg! { ENDPOINT_SLICE_PORT, "EndpointPort", [
    sp(1, "name"),
    sp(2, "protocol"),
    i32p(3, "port"),
    sp(4, "appProtocol"),
]}

msg! { ENDPOINT_SLICE, "EndpointSlice", [
    m(1, "metadata", &OBJECT_META),
    s(4, "addressType"),
    rm(2, "endpoints", &ENDPOINT),
    rm(3, "ports", &ENDPOINT_SLICE_PORT),
]}

// === coordination.k8s.io/v1 ===

msg! { LEASE_SPEC, "LeaseSpec", [
    sp(1, "holderIdentity"),
    i32p(2, "leaseDurationSeconds"),
    mtimep(3, "acquireTime"),
    mtimep(4, "renewTime"),
    i32p(5, "leaseTransitions"),
    sp(6, "strategy"),
    sp(7, "preferredHolder"),
]}

msg! { LEASE, "Lease", [m(1, "metadata", &OBJECT_META), m(2, "spec", &LEASE_SPEC)] }
