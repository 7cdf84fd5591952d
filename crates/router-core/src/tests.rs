//! Table tests. Each case is one line: a request and the one-line summary
//! (`Decision`'s `Display`, or `404 …` for `NoRoute`) it must produce.

mod balance;
mod build;
mod fixtures;
mod gateway;
mod istio;
mod sticky;
