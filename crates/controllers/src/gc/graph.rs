//! The ownership graph (upstream `GraphBuilder`): every object of every
//! watched resource, by UID, with its owner references and the reverse
//! index owner → dependents. Fed by watch events; each change returns the
//! work it implies. Pure: no IO, unit-tested.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kube::api::{ApiResource, DynamicObject};

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

/// A watched resource type.
#[derive(Debug)]
pub struct Res {
    pub api: ApiResource,
    pub namespaced: bool,
}

impl Res {
    /// `group/version/plural`, unique per resource.
    pub fn key(&self) -> String {
        format!("{}/{}", self.api.api_version, self.api.plural)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub uid: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub block: bool,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub res: Arc<Res>,
    pub namespace: Option<String>,
    pub name: String,
    pub owners: Vec<Owner>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    /// Being deleted in the foreground: waits for its blocking dependents.
    pub fn deleting_dependents(&self) -> bool {
        self.deleting && self.finalizers.iter().any(|f| f == FOREGROUND)
    }

    fn orphaning(&self) -> bool {
        self.deleting && self.finalizers.iter().any(|f| f == ORPHAN)
    }
}

/// What the collector must look at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// Check whether this object should go (upstream `attemptToDelete`); for a
    /// foreground-deleting owner, whether its finalizer can go.
    Delete(String),
    /// Strip this owner from its dependents, then drop its `orphan` finalizer.
    Orphan(String),
}

#[derive(Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
    by_res: HashMap<String, HashSet<String>>,
    /// UIDs listed since the last `Init` of a resource, while it relists.
    relisting: HashMap<String, HashSet<String>>,
    /// Once every watched resource is listed, unknown owners are worth a look.
    synced: bool,
}

fn node_of(res: &Arc<Res>, obj: &DynamicObject) -> Option<(String, Node)> {
    let m = &obj.metadata;
    let uid = m.uid.clone()?;
    let owners = m
        .owner_references
        .iter()
        .flatten()
        .map(|r| Owner {
            uid: r.uid.clone(),
            api_version: r.api_version.clone(),
            kind: r.kind.clone(),
            name: r.name.clone(),
            block: r.block_owner_deletion == Some(true),
        })
        .collect();
    Some((
        uid,
        Node {
            res: res.clone(),
            namespace: m.namespace.clone(),
            name: m.name.clone().unwrap_or_default(),
            owners,
            deleting: m.deletion_timestamp.is_some(),
            finalizers: m.finalizers.clone().unwrap_or_default(),
        },
    ))
}

impl Graph {
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// UIDs of objects that name `uid` as an owner.
    pub fn dependents(&self, uid: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Dependents whose reference to `uid` has `blockOwnerDeletion`, with
    /// whether each is itself deleting its dependents.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<(String, bool)> {
        self.dependents(uid)
            .into_iter()
            .filter_map(|d| {
                let n = self.nodes.get(&d)?;
                n.owners
                    .iter()
                    .any(|o| o.uid == uid && o.block)
                    .then(|| (d.clone(), n.deleting_dependents()))
            })
            .collect()
    }

    /// An object was added or changed.
    pub fn apply(&mut self, res: &Arc<Res>, obj: &DynamicObject) -> Vec<Work> {
        let Some((uid, node)) = node_of(res, obj) else {
            return Vec::new();
        };
        if let Some(seen) = self.relisting.get_mut(&res.key()) {
            seen.insert(uid.clone());
        }
        self.by_res
            .entry(res.key())
            .or_default()
            .insert(uid.clone());
        let old = self.nodes.insert(uid.clone(), node.clone());
        let mut work = Vec::new();

        let old_owners = old.as_ref().map(|o| o.owners.clone()).unwrap_or_default();
        if old_owners != node.owners {
            for o in &old_owners {
                if let Some(d) = self.dependents.get_mut(&o.uid) {
                    d.remove(&uid);
                    if d.is_empty() {
                        self.dependents.remove(&o.uid);
                    }
                }
            }
            for o in &node.owners {
                self.dependents
                    .entry(o.uid.clone())
                    .or_default()
                    .insert(uid.clone());
            }
            // An owner waiting in the foreground may be unblocked now.
            for o in old_owners.iter().chain(&node.owners) {
                if self
                    .nodes
                    .get(&o.uid)
                    .is_some_and(Node::deleting_dependents)
                {
                    work.push(Work::Delete(o.uid.clone()));
                }
            }
        }

        if node.orphaning() {
            work.push(Work::Orphan(uid.clone()));
        }
        if node.deleting_dependents() {
            work.push(Work::Delete(uid.clone()));
            if !old.as_ref().is_some_and(Node::deleting_dependents) {
                work.extend(self.dependents(&uid).into_iter().map(Work::Delete));
            }
        }
        // Owned by something being deleted in the foreground or by something
        // we have never seen (maybe gone before we started): check it.
        if node.owners.iter().any(|o| match self.nodes.get(&o.uid) {
            Some(owner) => owner.deleting_dependents(),
            None => self.synced,
        }) {
            work.push(Work::Delete(uid));
        }
        work.dedup();
        work
    }

    /// An object is gone.
    pub fn delete(&mut self, uid: &str) -> Vec<Work> {
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        if let Some(s) = self.by_res.get_mut(&node.res.key()) {
            s.remove(uid);
        }
        let mut work: Vec<Work> = self.dependents(uid).into_iter().map(Work::Delete).collect();
        for o in &node.owners {
            if let Some(d) = self.dependents.get_mut(&o.uid) {
                d.remove(uid);
                if d.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
            if self
                .nodes
                .get(&o.uid)
                .is_some_and(Node::deleting_dependents)
            {
                work.push(Work::Delete(o.uid.clone()));
            }
        }
        work
    }

    pub fn delete_obj(&mut self, obj: &DynamicObject) -> Vec<Work> {
        match &obj.metadata.uid {
            Some(uid) => self.delete(uid),
            None => Vec::new(),
        }
    }

    /// A (re)list of `res` begins.
    pub fn init(&mut self, res: &Res) {
        self.relisting.insert(res.key(), HashSet::new());
    }

    /// A (re)list of `res` ended: whatever it did not list is gone.
    pub fn init_done(&mut self, res: &Res) -> Vec<Work> {
        let Some(seen) = self.relisting.remove(&res.key()) else {
            return Vec::new();
        };
        let gone: Vec<String> = self
            .by_res
            .get(&res.key())
            .map(|s| s.difference(&seen).cloned().collect())
            .unwrap_or_default();
        gone.iter().flat_map(|u| self.delete(u)).collect()
    }

    /// Stop tracking a resource type (no longer served): its objects are gone.
    pub fn remove_resource(&mut self, key: &str) -> Vec<Work> {
        self.relisting.remove(key);
        let uids: Vec<String> = self
            .by_res
            .remove(key)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        uids.iter().flat_map(|u| self.delete(u)).collect()
    }

    /// Every resource has been listed once: from now on an owner missing from
    /// the graph is suspicious. Returns the objects with such owners now.
    pub fn mark_synced(&mut self) -> Vec<Work> {
        self.synced = true;
        let mut work: Vec<Work> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.owners.iter().any(|o| !self.nodes.contains_key(&o.uid)))
            .map(|(u, _)| Work::Delete(u.clone()))
            .collect();
        work.sort();
        work
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
