//! `k8s.io/api/core/v1` messages reachable from the kinds kubectl's
//! generators create (Pod templates in full, Service, Namespace, ConfigMap,
//! Secret, ServiceAccount) plus Endpoints, Event and ResourceQuota.

use super::desc::*;
use super::meta::{CONDITION, LABEL_SELECTOR, OBJECT_META};

// === references and selectors ===

msg! { LOCAL_OBJECT_REFERENCE, "LocalObjectReference", [s(1, "name")] }

msg! { OBJECT_REFERENCE, "ObjectReference", [
    s(1, "kind"),
    s(2, "namespace"),
    s(3, "name"),
    s(4, "uid"),
    s(5, "apiVersion"),
    s(6, "resourceVersion"),
    s(7, "fieldPath"),
]}

msg! { TYPED_LOCAL_OBJECT_REFERENCE, "TypedLocalObjectReference", [
    sp(1, "apiGroup"),
    s(2, "kind"),
    s(3, "name"),
]}

msg! { TYPED_OBJECT_REFERENCE, "TypedObjectReference", [
    sp(1, "apiGroup"),
    s(2, "kind"),
    s(3, "name"),
    sp(4, "namespace"),
]}

msg! { OBJECT_FIELD_SELECTOR, "ObjectFieldSelector", [s(1, "apiVersion"), s(2, "fieldPath")] }

msg! { RESOURCE_FIELD_SELECTOR, "ResourceFieldSelector", [
    s(1, "containerName"),
    s(2, "resource"),
    qty(3, "divisor"),
]}

msg! { CONFIG_MAP_KEY_SELECTOR, "ConfigMapKeySelector", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    s(2, "key"),
    bp(3, "optional"),
]}

msg! { SECRET_KEY_SELECTOR, "SecretKeySelector", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    s(2, "key"),
    bp(3, "optional"),
]}

// === container ===

msg! { CONTAINER_PORT, "ContainerPort", [
    s(1, "name"),
    i32_(2, "hostPort"),
    i32_(3, "containerPort"),
    s(4, "protocol"),
    s(5, "hostIP"),
]}

msg! { CONFIG_MAP_ENV_SOURCE, "ConfigMapEnvSource", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    bp(2, "optional"),
]}

msg! { SECRET_ENV_SOURCE, "SecretEnvSource", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    bp(2, "optional"),
]}

msg! { ENV_FROM_SOURCE, "EnvFromSource", [
    s(1, "prefix"),
    mp(2, "configMapRef", &CONFIG_MAP_ENV_SOURCE),
    mp(3, "secretRef", &SECRET_ENV_SOURCE),
]}

msg! { ENV_VAR_SOURCE, "EnvVarSource", [
    mp(1, "fieldRef", &OBJECT_FIELD_SELECTOR),
    mp(2, "resourceFieldRef", &RESOURCE_FIELD_SELECTOR),
    mp(3, "configMapKeyRef", &CONFIG_MAP_KEY_SELECTOR),
    mp(4, "secretKeyRef", &SECRET_KEY_SELECTOR),
]}

msg! { ENV_VAR, "EnvVar", [s(1, "name"), s(2, "value"), mp(3, "valueFrom", &ENV_VAR_SOURCE)] }

msg! { RESOURCE_CLAIM, "ResourceClaim", [s(1, "name"), s(2, "request")] }

msg! { RESOURCE_REQUIREMENTS, "ResourceRequirements", [
    map_q(1, "limits"),
    map_q(2, "requests"),
    rm(3, "claims", &RESOURCE_CLAIM),
]}

msg! { CONTAINER_RESIZE_POLICY, "ContainerResizePolicy", [
    s(1, "resourceName"),
    s(2, "restartPolicy"),
]}

msg! { VOLUME_MOUNT, "VolumeMount", [
    s(1, "name"),
    b(2, "readOnly"),
    sp(7, "recursiveReadOnly"),
    s(3, "mountPath"),
    s(4, "subPath"),
    sp(5, "mountPropagation"),
    s(6, "subPathExpr"),
]}

msg! { VOLUME_DEVICE, "VolumeDevice", [s(1, "name"), s(2, "devicePath")] }

msg! { EXEC_ACTION, "ExecAction", [rs(1, "command")] }

msg! { HTTP_HEADER, "HTTPHeader", [s(1, "name"), s(2, "value")] }

msg! { HTTP_GET_ACTION, "HTTPGetAction", [
    s(1, "path"),
    ios(2, "port"),
    s(3, "host"),
    s(4, "scheme"),
    rm(5, "httpHeaders", &HTTP_HEADER),
]}

msg! { TCP_SOCKET_ACTION, "TCPSocketAction", [ios(1, "port"), s(2, "host")] }

msg! { GRPC_ACTION, "GRPCAction", [i32_(1, "port"), sp(2, "service")] }

msg! { SLEEP_ACTION, "SleepAction", [i64_(1, "seconds")] }

msg! { PROBE_HANDLER, "ProbeHandler", [
    mp(1, "exec", &EXEC_ACTION),
    mp(2, "httpGet", &HTTP_GET_ACTION),
    mp(3, "tcpSocket", &TCP_SOCKET_ACTION),
    mp(4, "grpc", &GRPC_ACTION),
]}

msg! { PROBE, "Probe", [
    inline(1, &PROBE_HANDLER),
    i32_(2, "initialDelaySeconds"),
    i32_(3, "timeoutSeconds"),
    i32_(4, "periodSeconds"),
    i32_(5, "successThreshold"),
    i32_(6, "failureThreshold"),
    i64p(7, "terminationGracePeriodSeconds"),
]}

msg! { LIFECYCLE_HANDLER, "LifecycleHandler", [
    mp(1, "exec", &EXEC_ACTION),
    mp(2, "httpGet", &HTTP_GET_ACTION),
    mp(3, "tcpSocket", &TCP_SOCKET_ACTION),
    mp(4, "sleep", &SLEEP_ACTION),
]}

msg! { LIFECYCLE, "Lifecycle", [
    mp(1, "postStart", &LIFECYCLE_HANDLER),
    mp(2, "preStop", &LIFECYCLE_HANDLER),
    sp(3, "stopSignal"),
]}

msg! { CAPABILITIES, "Capabilities", [rs(1, "add"), rs(2, "drop")] }

msg! { SE_LINUX_OPTIONS, "SELinuxOptions", [
    s(1, "user"),
    s(2, "role"),
    s(3, "type"),
    s(4, "level"),
]}

msg! { WINDOWS_SECURITY_CONTEXT_OPTIONS, "WindowsSecurityContextOptions", [
    sp(1, "gmsaCredentialSpecName"),
    sp(2, "gmsaCredentialSpec"),
    sp(3, "runAsUserName"),
    bp(4, "hostProcess"),
]}

msg! { SECCOMP_PROFILE, "SeccompProfile", [s(1, "type"), sp(2, "localhostProfile")] }

msg! { APP_ARMOR_PROFILE, "AppArmorProfile", [s(1, "type"), sp(2, "localhostProfile")] }

msg! { SECURITY_CONTEXT, "SecurityContext", [
    mp(1, "capabilities", &CAPABILITIES),
    bp(2, "privileged"),
    mp(3, "seLinuxOptions", &SE_LINUX_OPTIONS),
    mp(10, "windowsOptions", &WINDOWS_SECURITY_CONTEXT_OPTIONS),
    i64p(4, "runAsUser"),
    i64p(8, "runAsGroup"),
    bp(5, "runAsNonRoot"),
    bp(6, "readOnlyRootFilesystem"),
    bp(7, "allowPrivilegeEscalation"),
    sp(9, "procMount"),
    mp(11, "seccompProfile", &SECCOMP_PROFILE),
    mp(12, "appArmorProfile", &APP_ARMOR_PROFILE),
]}

// Also the inlined `EphemeralContainerCommon`: upstream keeps the two in
// lock-step, field numbers included.
msg! { CONTAINER, "Container", [
    s(1, "name"),
    s(2, "image"),
    rs(3, "command"),
    rs(4, "args"),
    s(5, "workingDir"),
    rm(6, "ports", &CONTAINER_PORT),
    rm(19, "envFrom", &ENV_FROM_SOURCE),
    rm(7, "env", &ENV_VAR),
    m(8, "resources", &RESOURCE_REQUIREMENTS),
    rm(23, "resizePolicy", &CONTAINER_RESIZE_POLICY),
    sp(24, "restartPolicy"),
    rm(9, "volumeMounts", &VOLUME_MOUNT),
    rm(21, "volumeDevices", &VOLUME_DEVICE),
    mp(10, "livenessProbe", &PROBE),
    mp(11, "readinessProbe", &PROBE),
    mp(22, "startupProbe", &PROBE),
    mp(12, "lifecycle", &LIFECYCLE),
    s(13, "terminationMessagePath"),
    s(20, "terminationMessagePolicy"),
    s(14, "imagePullPolicy"),
    mp(15, "securityContext", &SECURITY_CONTEXT),
    b(16, "stdin"),
    b(17, "stdinOnce"),
    b(18, "tty"),
]}

msg! { EPHEMERAL_CONTAINER, "EphemeralContainer", [
    inline(1, &CONTAINER),
    s(2, "targetContainerName"),
]}

// === volumes ===

msg! { KEY_TO_PATH, "KeyToPath", [s(1, "key"), s(2, "path"), i32p(3, "mode")] }

msg! { HOST_PATH_VOLUME_SOURCE, "HostPathVolumeSource", [s(1, "path"), sp(2, "type")] }

msg! { EMPTY_DIR_VOLUME_SOURCE, "EmptyDirVolumeSource", [s(1, "medium"), qtyp(2, "sizeLimit")] }

msg! { SECRET_VOLUME_SOURCE, "SecretVolumeSource", [
    s(1, "secretName"),
    rm(2, "items", &KEY_TO_PATH),
    i32p(3, "defaultMode"),
    bp(4, "optional"),
]}

msg! { CONFIG_MAP_VOLUME_SOURCE, "ConfigMapVolumeSource", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    rm(2, "items", &KEY_TO_PATH),
    i32p(3, "defaultMode"),
    bp(4, "optional"),
]}

msg! { DOWNWARD_API_VOLUME_FILE, "DownwardAPIVolumeFile", [
    s(1, "path"),
    mp(2, "fieldRef", &OBJECT_FIELD_SELECTOR),
    mp(3, "resourceFieldRef", &RESOURCE_FIELD_SELECTOR),
    i32p(4, "mode"),
]}

msg! { DOWNWARD_API_VOLUME_SOURCE, "DownwardAPIVolumeSource", [
    rm(1, "items", &DOWNWARD_API_VOLUME_FILE),
    i32p(2, "defaultMode"),
]}

msg! { DOWNWARD_API_PROJECTION, "DownwardAPIProjection", [
    rm(1, "items", &DOWNWARD_API_VOLUME_FILE),
]}

msg! { SECRET_PROJECTION, "SecretProjection", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    rm(2, "items", &KEY_TO_PATH),
    bp(4, "optional"),
]}

msg! { CONFIG_MAP_PROJECTION, "ConfigMapProjection", [
    inline(1, &LOCAL_OBJECT_REFERENCE),
    rm(2, "items", &KEY_TO_PATH),
    bp(4, "optional"),
]}

msg! { SERVICE_ACCOUNT_TOKEN_PROJECTION, "ServiceAccountTokenProjection", [
    s(1, "audience"),
    i64p(2, "expirationSeconds"),
    s(3, "path"),
]}

msg! { CLUSTER_TRUST_BUNDLE_PROJECTION, "ClusterTrustBundleProjection", [
    sp(1, "name"),
    sp(2, "signerName"),
    mp(3, "labelSelector", &LABEL_SELECTOR),
    bp(5, "optional"),
    s(4, "path"),
]}

msg! { VOLUME_PROJECTION, "VolumeProjection", [
    mp(1, "secret", &SECRET_PROJECTION),
    mp(2, "downwardAPI", &DOWNWARD_API_PROJECTION),
    mp(3, "configMap", &CONFIG_MAP_PROJECTION),
    mp(4, "serviceAccountToken", &SERVICE_ACCOUNT_TOKEN_PROJECTION),
    mp(5, "clusterTrustBundle", &CLUSTER_TRUST_BUNDLE_PROJECTION),
]}

msg! { PROJECTED_VOLUME_SOURCE, "ProjectedVolumeSource", [
    rm(1, "sources", &VOLUME_PROJECTION),
    i32p(2, "defaultMode"),
]}

msg! { NFS_VOLUME_SOURCE, "NFSVolumeSource", [s(1, "server"), s(2, "path"), b(3, "readOnly")] }

msg! { PVC_VOLUME_SOURCE, "PersistentVolumeClaimVolumeSource", [
    s(1, "claimName"),
    b(2, "readOnly"),
]}

msg! { CSI_VOLUME_SOURCE, "CSIVolumeSource", [
    s(1, "driver"),
    bp(2, "readOnly"),
    sp(3, "fsType"),
    map_s(4, "volumeAttributes"),
    mp(5, "nodePublishSecretRef", &LOCAL_OBJECT_REFERENCE),
]}

msg! { IMAGE_VOLUME_SOURCE, "ImageVolumeSource", [s(1, "reference"), s(2, "pullPolicy")] }

msg! { GIT_REPO_VOLUME_SOURCE, "GitRepoVolumeSource", [
    s(1, "repository"),
    s(2, "revision"),
    s(3, "directory"),
]}

msg! { GCE_PD_VOLUME_SOURCE, "GCEPersistentDiskVolumeSource", [
    s(1, "pdName"),
    s(2, "fsType"),
    i32_(3, "partition"),
    b(4, "readOnly"),
]}

msg! { AWS_EBS_VOLUME_SOURCE, "AWSElasticBlockStoreVolumeSource", [
    s(1, "volumeID"),
    s(2, "fsType"),
    i32_(3, "partition"),
    b(4, "readOnly"),
]}

msg! { ISCSI_VOLUME_SOURCE, "ISCSIVolumeSource", [
    s(1, "targetPortal"),
    s(2, "iqn"),
    i32_(3, "lun"),
    s(4, "iscsiInterface"),
    s(5, "fsType"),
    b(6, "readOnly"),
    rs(7, "portals"),
    b(8, "chapAuthDiscovery"),
    b(11, "chapAuthSession"),
    mp(10, "secretRef", &LOCAL_OBJECT_REFERENCE),
    sp(12, "initiatorName"),
]}

msg! { GLUSTERFS_VOLUME_SOURCE, "GlusterfsVolumeSource", [
    s(1, "endpoints"),
    s(2, "path"),
    b(3, "readOnly"),
]}

msg! { RBD_VOLUME_SOURCE, "RBDVolumeSource", [
    rs(1, "monitors"),
    s(2, "image"),
    s(3, "fsType"),
    s(4, "pool"),
    s(5, "user"),
    s(6, "keyring"),
    mp(7, "secretRef", &LOCAL_OBJECT_REFERENCE),
    b(8, "readOnly"),
]}

msg! { FLEX_VOLUME_SOURCE, "FlexVolumeSource", [
    s(1, "driver"),
    s(2, "fsType"),
    mp(3, "secretRef", &LOCAL_OBJECT_REFERENCE),
    b(4, "readOnly"),
    map_s(5, "options"),
]}

msg! { CINDER_VOLUME_SOURCE, "CinderVolumeSource", [
    s(1, "volumeID"),
    s(2, "fsType"),
    b(3, "readOnly"),
    mp(4, "secretRef", &LOCAL_OBJECT_REFERENCE),
]}

msg! { CEPHFS_VOLUME_SOURCE, "CephFSVolumeSource", [
    rs(1, "monitors"),
    s(2, "path"),
    s(3, "user"),
    s(4, "secretFile"),
    mp(5, "secretRef", &LOCAL_OBJECT_REFERENCE),
    b(6, "readOnly"),
]}

msg! { FLOCKER_VOLUME_SOURCE, "FlockerVolumeSource", [s(1, "datasetName"), s(2, "datasetUUID")] }

msg! { FC_VOLUME_SOURCE, "FCVolumeSource", [
    rs(1, "targetWWNs"),
    i32p(2, "lun"),
    s(3, "fsType"),
    b(4, "readOnly"),
    rs(5, "wwids"),
]}

msg! { AZURE_FILE_VOLUME_SOURCE, "AzureFileVolumeSource", [
    s(1, "secretName"),
    s(2, "shareName"),
    b(3, "readOnly"),
]}

msg! { VSPHERE_VOLUME_SOURCE, "VsphereVirtualDiskVolumeSource", [
    s(1, "volumePath"),
    s(2, "fsType"),
    s(3, "storagePolicyName"),
    s(4, "storagePolicyID"),
]}

msg! { QUOBYTE_VOLUME_SOURCE, "QuobyteVolumeSource", [
    s(1, "registry"),
    s(2, "volume"),
    b(3, "readOnly"),
    s(4, "user"),
    s(5, "group"),
    s(6, "tenant"),
]}

msg! { AZURE_DISK_VOLUME_SOURCE, "AzureDiskVolumeSource", [
    s(1, "diskName"),
    s(2, "diskURI"),
    sp(3, "cachingMode"),
    sp(4, "fsType"),
    bp(5, "readOnly"),
    sp(6, "kind"),
]}

msg! { PHOTON_VOLUME_SOURCE, "PhotonPersistentDiskVolumeSource", [s(1, "pdID"), s(2, "fsType")] }

msg! { PORTWORX_VOLUME_SOURCE, "PortworxVolumeSource", [
    s(1, "volumeID"),
    s(2, "fsType"),
    b(3, "readOnly"),
]}

msg! { SCALE_IO_VOLUME_SOURCE, "ScaleIOVolumeSource", [
    s(1, "gateway"),
    s(2, "system"),
    mp(3, "secretRef", &LOCAL_OBJECT_REFERENCE),
    b(4, "sslEnabled"),
    s(5, "protectionDomain"),
    s(6, "storagePool"),
    s(7, "storageMode"),
    s(8, "volumeName"),
    s(9, "fsType"),
    b(10, "readOnly"),
]}

msg! { STORAGE_OS_VOLUME_SOURCE, "StorageOSVolumeSource", [
    s(1, "volumeName"),
    s(2, "volumeNamespace"),
    s(3, "fsType"),
    b(4, "readOnly"),
    mp(5, "secretRef", &LOCAL_OBJECT_REFERENCE),
]}

msg! { VOLUME_RESOURCE_REQUIREMENTS, "VolumeResourceRequirements", [
    map_q(1, "limits"),
    map_q(2, "requests"),
]}

msg! { PVC_SPEC, "PersistentVolumeClaimSpec", [
    rs(1, "accessModes"),
    mp(4, "selector", &LABEL_SELECTOR),
    m(2, "resources", &VOLUME_RESOURCE_REQUIREMENTS),
    s(3, "volumeName"),
    sp(5, "storageClassName"),
    sp(6, "volumeMode"),
    mp(7, "dataSource", &TYPED_LOCAL_OBJECT_REFERENCE),
    mp(8, "dataSourceRef", &TYPED_OBJECT_REFERENCE),
    sp(9, "volumeAttributesClassName"),
]}

msg! { PVC_TEMPLATE, "PersistentVolumeClaimTemplate", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &PVC_SPEC),
]}

msg! { EPHEMERAL_VOLUME_SOURCE, "EphemeralVolumeSource", [
    mp(1, "volumeClaimTemplate", &PVC_TEMPLATE),
]}

msg! { VOLUME_SOURCE, "VolumeSource", [
    mp(1, "hostPath", &HOST_PATH_VOLUME_SOURCE),
    mp(2, "emptyDir", &EMPTY_DIR_VOLUME_SOURCE),
    mp(3, "gcePersistentDisk", &GCE_PD_VOLUME_SOURCE),
    mp(4, "awsElasticBlockStore", &AWS_EBS_VOLUME_SOURCE),
    mp(5, "gitRepo", &GIT_REPO_VOLUME_SOURCE),
    mp(6, "secret", &SECRET_VOLUME_SOURCE),
    mp(7, "nfs", &NFS_VOLUME_SOURCE),
    mp(8, "iscsi", &ISCSI_VOLUME_SOURCE),
    mp(9, "glusterfs", &GLUSTERFS_VOLUME_SOURCE),
    mp(10, "persistentVolumeClaim", &PVC_VOLUME_SOURCE),
    mp(11, "rbd", &RBD_VOLUME_SOURCE),
    mp(12, "flexVolume", &FLEX_VOLUME_SOURCE),
    mp(13, "cinder", &CINDER_VOLUME_SOURCE),
    mp(14, "cephfs", &CEPHFS_VOLUME_SOURCE),
    mp(15, "flocker", &FLOCKER_VOLUME_SOURCE),
    mp(16, "downwardAPI", &DOWNWARD_API_VOLUME_SOURCE),
    mp(17, "fc", &FC_VOLUME_SOURCE),
    mp(18, "azureFile", &AZURE_FILE_VOLUME_SOURCE),
    mp(19, "configMap", &CONFIG_MAP_VOLUME_SOURCE),
    mp(20, "vsphereVolume", &VSPHERE_VOLUME_SOURCE),
    mp(21, "quobyte", &QUOBYTE_VOLUME_SOURCE),
    mp(22, "azureDisk", &AZURE_DISK_VOLUME_SOURCE),
    mp(23, "photonPersistentDisk", &PHOTON_VOLUME_SOURCE),
    mp(24, "portworxVolume", &PORTWORX_VOLUME_SOURCE),
    mp(25, "scaleIO", &SCALE_IO_VOLUME_SOURCE),
    mp(26, "projected", &PROJECTED_VOLUME_SOURCE),
    mp(27, "storageos", &STORAGE_OS_VOLUME_SOURCE),
    mp(28, "csi", &CSI_VOLUME_SOURCE),
    mp(29, "ephemeral", &EPHEMERAL_VOLUME_SOURCE),
    mp(30, "image", &IMAGE_VOLUME_SOURCE),
]}

msg! { VOLUME, "Volume", [s(1, "name"), inline(2, &VOLUME_SOURCE)] }

// === scheduling ===

msg! { NODE_SELECTOR_REQUIREMENT, "NodeSelectorRequirement", [
    s(1, "key"),
    s(2, "operator"),
    rs(3, "values"),
]}

msg! { NODE_SELECTOR_TERM, "NodeSelectorTerm", [
    rm(1, "matchExpressions", &NODE_SELECTOR_REQUIREMENT),
    rm(2, "matchFields", &NODE_SELECTOR_REQUIREMENT),
]}

msg! { NODE_SELECTOR, "NodeSelector", [rm(1, "nodeSelectorTerms", &NODE_SELECTOR_TERM)] }

msg! { PREFERRED_SCHEDULING_TERM, "PreferredSchedulingTerm", [
    i32_(1, "weight"),
    m(2, "preference", &NODE_SELECTOR_TERM),
]}

msg! { NODE_AFFINITY, "NodeAffinity", [
    mp(1, "requiredDuringSchedulingIgnoredDuringExecution", &NODE_SELECTOR),
    rm(2, "preferredDuringSchedulingIgnoredDuringExecution", &PREFERRED_SCHEDULING_TERM),
]}

msg! { POD_AFFINITY_TERM, "PodAffinityTerm", [
    mp(1, "labelSelector", &LABEL_SELECTOR),
    rs(2, "namespaces"),
    s(3, "topologyKey"),
    mp(4, "namespaceSelector", &LABEL_SELECTOR),
    rs(5, "matchLabelKeys"),
    rs(6, "mismatchLabelKeys"),
]}

msg! { WEIGHTED_POD_AFFINITY_TERM, "WeightedPodAffinityTerm", [
    i32_(1, "weight"),
    m(2, "podAffinityTerm", &POD_AFFINITY_TERM),
]}

msg! { POD_AFFINITY, "PodAffinity", [
    rm(1, "requiredDuringSchedulingIgnoredDuringExecution", &POD_AFFINITY_TERM),
    rm(2, "preferredDuringSchedulingIgnoredDuringExecution", &WEIGHTED_POD_AFFINITY_TERM),
]}

msg! { POD_ANTI_AFFINITY, "PodAntiAffinity", [
    rm(1, "requiredDuringSchedulingIgnoredDuringExecution", &POD_AFFINITY_TERM),
    rm(2, "preferredDuringSchedulingIgnoredDuringExecution", &WEIGHTED_POD_AFFINITY_TERM),
]}

msg! { AFFINITY, "Affinity", [
    mp(1, "nodeAffinity", &NODE_AFFINITY),
    mp(2, "podAffinity", &POD_AFFINITY),
    mp(3, "podAntiAffinity", &POD_ANTI_AFFINITY),
]}

msg! { TOLERATION, "Toleration", [
    s(1, "key"),
    s(2, "operator"),
    s(3, "value"),
    s(4, "effect"),
    i64p(5, "tolerationSeconds"),
]}

msg! { TOPOLOGY_SPREAD_CONSTRAINT, "TopologySpreadConstraint", [
    i32_(1, "maxSkew"),
    s(2, "topologyKey"),
    s(3, "whenUnsatisfiable"),
    mp(4, "labelSelector", &LABEL_SELECTOR),
    i32p(5, "minDomains"),
    sp(6, "nodeAffinityPolicy"),
    sp(7, "nodeTaintsPolicy"),
    rs(8, "matchLabelKeys"),
]}

// === pod ===

msg! { SYSCTL, "Sysctl", [s(1, "name"), s(2, "value")] }

msg! { POD_SECURITY_CONTEXT, "PodSecurityContext", [
    mp(1, "seLinuxOptions", &SE_LINUX_OPTIONS),
    mp(8, "windowsOptions", &WINDOWS_SECURITY_CONTEXT_OPTIONS),
    i64p(2, "runAsUser"),
    i64p(6, "runAsGroup"),
    bp(3, "runAsNonRoot"),
    ri64(4, "supplementalGroups"),
    sp(12, "supplementalGroupsPolicy"),
    i64p(5, "fsGroup"),
    rm(7, "sysctls", &SYSCTL),
    sp(9, "fsGroupChangePolicy"),
    mp(10, "seccompProfile", &SECCOMP_PROFILE),
    mp(11, "appArmorProfile", &APP_ARMOR_PROFILE),
    sp(13, "seLinuxChangePolicy"),
]}

msg! { HOST_ALIAS, "HostAlias", [s(1, "ip"), rs(2, "hostnames")] }

msg! { POD_DNS_CONFIG_OPTION, "PodDNSConfigOption", [s(1, "name"), sp(2, "value")] }

msg! { POD_DNS_CONFIG, "PodDNSConfig", [
    rs(1, "nameservers"),
    rs(2, "searches"),
    rm(3, "options", &POD_DNS_CONFIG_OPTION),
]}

msg! { POD_READINESS_GATE, "PodReadinessGate", [s(1, "conditionType")] }

msg! { POD_OS, "PodOS", [s(1, "name")] }

msg! { POD_SCHEDULING_GATE, "PodSchedulingGate", [s(1, "name")] }

// Field 2 (`source`) was the pre-1.31 shape of the same reference.
msg! { CLAIM_SOURCE, "ClaimSource", [
    sp(1, "resourceClaimName"),
    sp(2, "resourceClaimTemplateName"),
]}

msg! { POD_RESOURCE_CLAIM, "PodResourceClaim", [
    s(1, "name"),
    m(2, "source", &CLAIM_SOURCE),
    sp(3, "resourceClaimName"),
    sp(4, "resourceClaimTemplateName"),
]}

msg! { POD_SPEC, "PodSpec", [
    rm(1, "volumes", &VOLUME),
    rm(20, "initContainers", &CONTAINER),
    rm(2, "containers", &CONTAINER),
    rm(34, "ephemeralContainers", &EPHEMERAL_CONTAINER),
    s(3, "restartPolicy"),
    i64p(4, "terminationGracePeriodSeconds"),
    i64p(5, "activeDeadlineSeconds"),
    s(6, "dnsPolicy"),
    map_s(7, "nodeSelector"),
    s(8, "serviceAccountName"),
    s(9, "serviceAccount"),
    bp(21, "automountServiceAccountToken"),
    s(10, "nodeName"),
    b(11, "hostNetwork"),
    b(12, "hostPID"),
    b(13, "hostIPC"),
    bp(27, "shareProcessNamespace"),
    mp(14, "securityContext", &POD_SECURITY_CONTEXT),
    rm(15, "imagePullSecrets", &LOCAL_OBJECT_REFERENCE),
    s(16, "hostname"),
    s(17, "subdomain"),
    mp(18, "affinity", &AFFINITY),
    s(19, "schedulerName"),
    rm(22, "tolerations", &TOLERATION),
    rm(23, "hostAliases", &HOST_ALIAS),
    s(24, "priorityClassName"),
    i32p(25, "priority"),
    mp(26, "dnsConfig", &POD_DNS_CONFIG),
    rm(28, "readinessGates", &POD_READINESS_GATE),
    sp(29, "runtimeClassName"),
    bp(30, "enableServiceLinks"),
    sp(31, "preemptionPolicy"),
    map_q(32, "overhead"),
    rm(33, "topologySpreadConstraints", &TOPOLOGY_SPREAD_CONSTRAINT),
    bp(35, "setHostnameAsFQDN"),
    mp(36, "os", &POD_OS),
    bp(37, "hostUsers"),
    rm(38, "schedulingGates", &POD_SCHEDULING_GATE),
    rm(39, "resourceClaims", &POD_RESOURCE_CLAIM),
    mp(40, "resources", &RESOURCE_REQUIREMENTS),
]}

msg! { POD_CONDITION, "PodCondition", [
    s(1, "type"),
    s(2, "status"),
    time(3, "lastProbeTime"),
    time(4, "lastTransitionTime"),
    s(5, "reason"),
    s(6, "message"),
]}

msg! { HOST_IP, "HostIP", [s(1, "ip")] }

msg! { POD_IP, "PodIP", [s(1, "ip")] }

msg! { CONTAINER_STATE_WAITING, "ContainerStateWaiting", [s(1, "reason"), s(2, "message")] }

msg! { CONTAINER_STATE_RUNNING, "ContainerStateRunning", [time(1, "startedAt")] }

msg! { CONTAINER_STATE_TERMINATED, "ContainerStateTerminated", [
    i32_(1, "exitCode"),
    i32_(2, "signal"),
    s(3, "reason"),
    s(4, "message"),
    time(5, "startedAt"),
    time(6, "finishedAt"),
    s(7, "containerID"),
]}

msg! { CONTAINER_STATE, "ContainerState", [
    mp(1, "waiting", &CONTAINER_STATE_WAITING),
    mp(2, "running", &CONTAINER_STATE_RUNNING),
    mp(3, "terminated", &CONTAINER_STATE_TERMINATED),
]}

msg! { VOLUME_MOUNT_STATUS, "VolumeMountStatus", [
    s(1, "name"),
    s(2, "mountPath"),
    b(3, "readOnly"),
    sp(4, "recursiveReadOnly"),
]}

msg! { CONTAINER_STATUS, "ContainerStatus", [
    s(1, "name"),
    m(2, "state", &CONTAINER_STATE),
    m(3, "lastState", &CONTAINER_STATE),
    b(4, "ready"),
    i32_(5, "restartCount"),
    s(6, "image"),
    s(7, "imageID"),
    s(8, "containerID"),
    bp(9, "started"),
    map_q(10, "allocatedResources"),
    mp(11, "resources", &RESOURCE_REQUIREMENTS),
    rm(12, "volumeMounts", &VOLUME_MOUNT_STATUS),
]}

msg! { POD_RESOURCE_CLAIM_STATUS, "PodResourceClaimStatus", [
    s(1, "name"),
    sp(2, "resourceClaimName"),
]}

msg! { POD_STATUS, "PodStatus", [
    s(1, "phase"),
    rm(2, "conditions", &POD_CONDITION),
    s(3, "message"),
    s(4, "reason"),
    s(11, "nominatedNodeName"),
    s(5, "hostIP"),
    rm(16, "hostIPs", &HOST_IP),
    s(6, "podIP"),
    rm(12, "podIPs", &POD_IP),
    timep(7, "startTime"),
    rm(10, "initContainerStatuses", &CONTAINER_STATUS),
    rm(8, "containerStatuses", &CONTAINER_STATUS),
    s(9, "qosClass"),
    rm(13, "ephemeralContainerStatuses", &CONTAINER_STATUS),
    s(14, "resize"),
    rm(15, "resourceClaimStatuses", &POD_RESOURCE_CLAIM_STATUS),
]}

msg! { POD, "Pod", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &POD_SPEC),
    m(3, "status", &POD_STATUS),
]}

msg! { POD_TEMPLATE_SPEC, "PodTemplateSpec", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &POD_SPEC),
]}

msg! { POD_TEMPLATE, "PodTemplate", [
    m(1, "metadata", &OBJECT_META),
    m(2, "template", &POD_TEMPLATE_SPEC),
]}

// === replication controller ===

msg! { REPLICATION_CONTROLLER_SPEC, "ReplicationControllerSpec", [
    i32p(1, "replicas"),
    i32_(4, "minReadySeconds"),
    map_s(2, "selector"),
    mp(3, "template", &POD_TEMPLATE_SPEC),
]}

msg! { REPLICATION_CONTROLLER_CONDITION, "ReplicationControllerCondition", [
    s(1, "type"),
    s(2, "status"),
    time(3, "lastTransitionTime"),
    s(4, "reason"),
    s(5, "message"),
]}

msg! { REPLICATION_CONTROLLER_STATUS, "ReplicationControllerStatus", [
    i32_(1, "replicas"),
    i32_(2, "fullyLabeledReplicas"),
    i32_(4, "readyReplicas"),
    i32_(5, "availableReplicas"),
    i64_(3, "observedGeneration"),
    rm(6, "conditions", &REPLICATION_CONTROLLER_CONDITION),
]}

msg! { REPLICATION_CONTROLLER, "ReplicationController", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &REPLICATION_CONTROLLER_SPEC),
    m(3, "status", &REPLICATION_CONTROLLER_STATUS),
]}

// === service ===

msg! { SERVICE_PORT, "ServicePort", [
    s(1, "name"),
    s(2, "protocol"),
    sp(6, "appProtocol"),
    i32_(3, "port"),
    ios(4, "targetPort"),
    i32_(5, "nodePort"),
]}

msg! { CLIENT_IP_CONFIG, "ClientIPConfig", [i32p(1, "timeoutSeconds")] }

msg! { SESSION_AFFINITY_CONFIG, "SessionAffinityConfig", [mp(1, "clientIP", &CLIENT_IP_CONFIG)] }

msg! { SERVICE_SPEC, "ServiceSpec", [
    rm(1, "ports", &SERVICE_PORT),
    map_s(2, "selector"),
    s(3, "clusterIP"),
    rs(18, "clusterIPs"),
    s(4, "type"),
    rs(5, "externalIPs"),
    s(7, "sessionAffinity"),
    s(8, "loadBalancerIP"),
    rs(9, "loadBalancerSourceRanges"),
    s(10, "externalName"),
    s(11, "externalTrafficPolicy"),
    i32_(12, "healthCheckNodePort"),
    b(13, "publishNotReadyAddresses"),
    mp(14, "sessionAffinityConfig", &SESSION_AFFINITY_CONFIG),
    rs(19, "ipFamilies"),
    sp(17, "ipFamilyPolicy"),
    bp(20, "allocateLoadBalancerNodePorts"),
    sp(21, "loadBalancerClass"),
    sp(22, "internalTrafficPolicy"),
    sp(23, "trafficDistribution"),
]}

msg! { PORT_STATUS, "PortStatus", [i32_(1, "port"), s(2, "protocol"), sp(3, "error")] }

msg! { LOAD_BALANCER_INGRESS, "LoadBalancerIngress", [
    s(1, "ip"),
    s(2, "hostname"),
    sp(3, "ipMode"),
    rm(4, "ports", &PORT_STATUS),
]}

msg! { LOAD_BALANCER_STATUS, "LoadBalancerStatus", [rm(1, "ingress", &LOAD_BALANCER_INGRESS)] }

msg! { SERVICE_STATUS, "ServiceStatus", [
    m(1, "loadBalancer", &LOAD_BALANCER_STATUS),
    rm(2, "conditions", &CONDITION),
]}

msg! { SERVICE, "Service", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &SERVICE_SPEC),
    m(3, "status", &SERVICE_STATUS),
]}

// === namespace, config, identity ===

msg! { NAMESPACE_SPEC, "NamespaceSpec", [rs(1, "finalizers")] }

msg! { NAMESPACE_CONDITION, "NamespaceCondition", [
    s(1, "type"),
    s(2, "status"),
    time(4, "lastTransitionTime"),
    s(5, "reason"),
    s(6, "message"),
]}

msg! { NAMESPACE_STATUS, "NamespaceStatus", [
    s(1, "phase"),
    rm(2, "conditions", &NAMESPACE_CONDITION),
]}

msg! { NAMESPACE, "Namespace", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &NAMESPACE_SPEC),
    m(3, "status", &NAMESPACE_STATUS),
]}

msg! { CONFIG_MAP, "ConfigMap", [
    m(1, "metadata", &OBJECT_META),
    bp(4, "immutable"),
    map_s(2, "data"),
    map_b(3, "binaryData"),
]}

msg! { SECRET, "Secret", [
    m(1, "metadata", &OBJECT_META),
    bp(5, "immutable"),
    map_b(2, "data"),
    map_s(4, "stringData"),
    s(3, "type"),
]}

msg! { SERVICE_ACCOUNT, "ServiceAccount", [
    m(1, "metadata", &OBJECT_META),
    rm(2, "secrets", &OBJECT_REFERENCE),
    rm(3, "imagePullSecrets", &LOCAL_OBJECT_REFERENCE),
    bp(4, "automountServiceAccountToken"),
]}

// === endpoints, events, quota ===

msg! { ENDPOINT_ADDRESS, "EndpointAddress", [
    s(1, "ip"),
    s(3, "hostname"),
    sp(4, "nodeName"),
    mp(2, "targetRef", &OBJECT_REFERENCE),
]}

msg! { ENDPOINT_PORT, "EndpointPort", [
    s(1, "name"),
    i32_(2, "port"),
    s(3, "protocol"),
    sp(4, "appProtocol"),
]}

msg! { ENDPOINT_SUBSET, "EndpointSubset", [
    rm(1, "addresses", &ENDPOINT_ADDRESS),
    rm(2, "notReadyAddresses", &ENDPOINT_ADDRESS),
    rm(3, "ports", &ENDPOINT_PORT),
]}

msg! { ENDPOINTS, "Endpoints", [
    m(1, "metadata", &OBJECT_META),
    rm(2, "subsets", &ENDPOINT_SUBSET),
]}

msg! { EVENT_SOURCE, "EventSource", [s(1, "component"), s(2, "host")] }

msg! { EVENT_SERIES, "EventSeries", [i32_(1, "count"), mtime(2, "lastObservedTime")] }

msg! { EVENT, "Event", [
    m(1, "metadata", &OBJECT_META),
    m(2, "involvedObject", &OBJECT_REFERENCE),
    s(3, "reason"),
    s(4, "message"),
    m(5, "source", &EVENT_SOURCE),
    time(6, "firstTimestamp"),
    time(7, "lastTimestamp"),
    i32_(8, "count"),
    s(9, "type"),
    mtime(10, "eventTime"),
    mp(11, "series", &EVENT_SERIES),
    s(12, "action"),
    mp(13, "related", &OBJECT_REFERENCE),
    s(14, "reportingComponent"),
    s(15, "reportingInstance"),
]}

msg! { SCOPED_RESOURCE_SELECTOR_REQUIREMENT, "ScopedResourceSelectorRequirement", [
    s(1, "scopeName"),
    s(2, "operator"),
    rs(3, "values"),
]}

msg! { SCOPE_SELECTOR, "ScopeSelector", [
    rm(1, "matchExpressions", &SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
]}

msg! { RESOURCE_QUOTA_SPEC, "ResourceQuotaSpec", [
    map_q(1, "hard"),
    rs(2, "scopes"),
    mp(3, "scopeSelector", &SCOPE_SELECTOR),
]}

msg! { RESOURCE_QUOTA_STATUS, "ResourceQuotaStatus", [map_q(1, "hard"), map_q(2, "used")] }

msg! { RESOURCE_QUOTA, "ResourceQuota", [
    m(1, "metadata", &OBJECT_META),
    m(2, "spec", &RESOURCE_QUOTA_SPEC),
    m(3, "status", &RESOURCE_QUOTA_STATUS),
]}
