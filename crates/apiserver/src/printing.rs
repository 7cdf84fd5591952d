//! `meta.k8s.io/v1` Table responses built from the pure column rules in `api::table`.

use serde_json::{json, Value};

use api::crd::ServedVersion;
use api::registry::Resource;

use crate::objects;

/// What each row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn from_query(v: Option<&str>) -> IncludeObject {
        match v {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

pub fn table(
    res: &Resource,
    custom: Option<&ServedVersion>,
    objs: &[Value],
    rv: &str,
    cont: &str,
    include: IncludeObject,
) -> Value {
    let now = api::meta::now_unix();
    let (columns, rows): (Vec<api::table::Column>, Vec<Vec<Value>>) = match custom {
        Some(c) => (
            api::table::crd_columns(&c.printer_columns),
            objs.iter()
                .map(|o| api::table::crd_cells(&c.printer_columns, o, now))
                .collect(),
        ),
        None => (
            api::table::columns(&res.group, &res.kind),
            objs.iter()
                .map(|o| api::table::cells(&res.group, &res.kind, o, now))
                .collect(),
        ),
    };
    let rows: Vec<Value> = objs
        .iter()
        .zip(rows)
        .map(|(o, cells)| {
            let mut row = json!({"cells": cells});
            if custom.is_none() {
                let conds = api::table::row_conditions(&res.group, &res.kind, o);
                if !conds.is_empty() {
                    row["conditions"] = Value::Array(conds);
                }
            }
            match include {
                IncludeObject::None => {}
                IncludeObject::Object => row["object"] = o.clone(),
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": objects::meta(o).cloned().unwrap_or_default(),
                    })
                }
            }
            row
        })
        .collect();
    let mut md = json!({"resourceVersion": rv});
    if !cont.is_empty() {
        md["continue"] = json!(cont);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": md,
        "columnDefinitions": columns,
        "rows": rows,
    })
}
