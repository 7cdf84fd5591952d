//! Pure Kubernetes API semantics shared by the apiserver and the controllers.
//!
//! Nothing in this crate performs IO: every function takes JSON values (or bytes)
//! and returns values or errors, so each piece is table-tested on its own.

pub mod admission;
pub mod crd;
pub mod errors;
pub mod meta;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod selector;
pub mod table;
