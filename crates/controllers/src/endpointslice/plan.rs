//! Which slices to create, update and delete so that a Service's slices say
//! what its pods want (upstream `reconciler.go`): pure, no IO.
//!
//! The plan keeps churn low the way upstream does: endpoints stay in the
//! slice that already holds them, changed slices are topped up before an
//! untouched one is, a new slice is made only when nothing fits, and a slice
//! that would be deleted is reused for one that would be created.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointPort, EndpointSlice};

use super::desired::{
    address_types, desired_groups, endpoint_key, endpoint_matches, new_slice, owned_by, port_key,
    slice_labels, EndpointKey, PortKey,
};

/// Upstream's default `--max-endpoints-per-slice`.
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// Writes that bring a Service's slices up to date. Empty when nothing
/// changed.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// New slices, unnamed (`generateName`).
    pub create: Vec<EndpointSlice>,
    /// Existing slices with their new content (names and resourceVersions
    /// of the stored ones).
    pub update: Vec<EndpointSlice>,
    pub delete: Vec<EndpointSlice>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// Plan the slices of `svc` given the pods its selector matches and the
/// slices this controller already keeps for it (not being deleted).
pub fn plan(svc: &Service, pods: &[&Pod], existing: &[&EndpointSlice], max: usize) -> Plan {
    let max = max.max(1);
    let types = address_types(svc);
    let mut out = Plan::default();
    let mut by_type: BTreeMap<&str, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in existing {
        if types.contains(&s.address_type.as_str()) {
            by_type.entry(s.address_type.as_str()).or_default().push(s);
        } else {
            // The Service no longer has that address family.
            out.delete.push((*s).clone());
        }
    }
    for t in types {
        let existing = by_type.remove(t).unwrap_or_default();
        let p = plan_address_type(svc, pods, &existing, t, max);
        out.create.extend(p.create);
        out.update.extend(p.update);
        out.delete.extend(p.delete);
    }
    out
}

fn plan_address_type(
    svc: &Service,
    pods: &[&Pod],
    existing: &[&EndpointSlice],
    address_type: &str,
    max: usize,
) -> Plan {
    let mut out = Plan::default();
    let mut existing_by_ports: BTreeMap<PortKey, Vec<&EndpointSlice>> = BTreeMap::new();
    for s in existing {
        if owned_by(s, svc) {
            existing_by_ports
                .entry(port_key(s.ports.as_deref().unwrap_or(&[])))
                .or_default()
                .push(s);
        } else {
            // Left over from an earlier Service of the same name.
            out.delete.push((*s).clone());
        }
    }
    let desired = desired_groups(svc, pods, address_type);
    for (key, group) in &desired {
        let mut want = group.endpoints.clone();
        let have = existing_by_ports.get(key).map(Vec::as_slice).unwrap_or(&[]);
        let p = plan_port_group(svc, have, &mut want, &group.ports, address_type, max);
        out.create.extend(p.create);
        out.update.extend(p.update);
        out.delete.extend(p.delete);
    }
    for (key, slices) in &existing_by_ports {
        if !desired.contains_key(key) {
            out.delete.extend(slices.iter().map(|s| (*s).clone()));
        }
    }

    // A Service with no endpoints keeps one empty placeholder slice, so
    // consumers can tell "no endpoints" from "not processed yet".
    if existing.len() == out.delete.len() && out.create.is_empty() {
        let placeholder = new_slice(svc, &[], address_type);
        if out.delete.len() == 1 && is_placeholder(&out.delete[0], &placeholder) {
            out.delete.clear();
        } else {
            out.create.push(placeholder);
        }
    }

    // Turn creates into updates of slices that would be deleted anyway.
    let mut i = 0;
    while i < out.delete.len() && !out.create.is_empty() {
        let victim = &out.delete[i];
        if victim.address_type == address_type && owned_by(victim, svc) {
            let victim = out.delete.remove(i);
            if let Some(mut slice) = out.create.pop() {
                slice.metadata.name = victim.metadata.name.clone();
                slice.metadata.resource_version = victim.metadata.resource_version.clone();
                slice.metadata.uid = victim.metadata.uid.clone();
                slice.metadata.annotations = victim.metadata.annotations.clone();
                out.update.push(slice);
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Upstream compares placeholders on namespace, labels, owner references,
/// address type, ports and endpoints only.
fn is_placeholder(have: &EndpointSlice, placeholder: &EndpointSlice) -> bool {
    let owners = |s: &EndpointSlice| s.metadata.owner_references.clone().unwrap_or_default();
    have.metadata.namespace == placeholder.metadata.namespace
        && have.metadata.labels.clone().unwrap_or_default()
            == placeholder.metadata.labels.clone().unwrap_or_default()
        && owners(have) == owners(placeholder)
        && have.address_type == placeholder.address_type
        && have.ports.as_deref().unwrap_or(&[]).is_empty()
        && have.endpoints.is_empty()
}

/// Upstream `reconcileByPortMapping` for one set of ports; `want` is drained.
fn plan_port_group(
    svc: &Service,
    existing: &[&EndpointSlice],
    want: &mut BTreeMap<EndpointKey, Endpoint>,
    ports: &[EndpointPort],
    address_type: &str,
    max: usize,
) -> Plan {
    let labels = slice_labels(svc);
    let mut by_name: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let mut unchanged: BTreeSet<String> = BTreeSet::new();
    let mut to_update: BTreeSet<String> = BTreeSet::new();
    let mut to_delete: BTreeSet<String> = BTreeSet::new();

    // 1. Keep wanted endpoints where they are, refreshed; drop the rest.
    for s in existing {
        let name = s.metadata.name.clone().unwrap_or_default();
        let mut kept: Vec<Endpoint> = Vec::new();
        let mut changed = false;
        for ep in &s.endpoints {
            if let Some(w) = want.remove(&endpoint_key(ep)) {
                changed |= !endpoint_matches(&w, ep);
                kept.push(w);
            }
        }
        let labels_changed = s.metadata.labels.clone().unwrap_or_default() != labels;
        if changed || kept.len() != s.endpoints.len() {
            if kept.is_empty() {
                to_delete.insert(name.clone());
                by_name.insert(name, (*s).clone());
            } else {
                let mut copy = (*s).clone();
                copy.endpoints = kept;
                copy.metadata.labels = Some(labels.clone());
                to_update.insert(name.clone());
                by_name.insert(name, copy);
            }
        } else if labels_changed {
            let mut copy = (*s).clone();
            copy.metadata.labels = Some(labels.clone());
            to_update.insert(name.clone());
            by_name.insert(name, copy);
        } else {
            unchanged.insert(name.clone());
            by_name.insert(name, (*s).clone());
        }
    }

    // 2. Top up the slices being written anyway, fullest first.
    if !want.is_empty() && !to_update.is_empty() {
        let mut names: Vec<&String> = to_update.iter().collect();
        names.sort_by_key(|n| std::cmp::Reverse(by_name.get(*n).map_or(0, |s| s.endpoints.len())));
        for n in names {
            let Some(s) = by_name.get_mut(n) else {
                continue;
            };
            while s.endpoints.len() < max {
                let Some((_, ep)) = want.pop_first() else {
                    break;
                };
                s.endpoints.push(ep);
            }
        }
    }

    // 3. The rest goes into the untouched slice it fills best, else new ones.
    let mut create = Vec::new();
    while !want.is_empty() {
        let target = if want.len() < max {
            slice_to_fill(&unchanged, &by_name, want.len(), max)
        } else {
            None
        };
        let mut slice = match &target {
            Some(n) => by_name
                .get(n)
                .cloned()
                .unwrap_or_else(|| new_slice(svc, ports, address_type)),
            None => new_slice(svc, ports, address_type),
        };
        while slice.endpoints.len() < max {
            let Some((_, ep)) = want.pop_first() else {
                break;
            };
            slice.endpoints.push(ep);
        }
        match target {
            Some(n) => {
                unchanged.remove(&n);
                to_update.insert(n.clone());
                by_name.insert(n, slice);
            }
            None => create.push(slice),
        }
    }

    let pick = |names: &BTreeSet<String>| -> Vec<EndpointSlice> {
        names
            .iter()
            .filter_map(|n| by_name.get(n).cloned())
            .collect()
    };
    Plan {
        create,
        update: pick(&to_update),
        delete: pick(&to_delete),
    }
}

/// Upstream `getSliceToFill`: the untouched slice closest to full once `n`
/// endpoints are added, if any has room.
fn slice_to_fill(
    unchanged: &BTreeSet<String>,
    by_name: &BTreeMap<String, EndpointSlice>,
    n: usize,
    max: usize,
) -> Option<String> {
    let mut best: Option<(usize, &String)> = None;
    for name in unchanged {
        let Some(s) = by_name.get(name) else { continue };
        let after = n + s.endpoints.len();
        if after > max {
            continue;
        }
        let gap = max - after;
        if best.is_none_or(|(g, _)| gap < g) {
            best = Some((gap, name));
        }
    }
    best.map(|(_, n)| n.clone())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
