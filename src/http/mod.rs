//! The HTTP side: accepting connections, routing, and writing responses out (egress).

pub mod access;
pub mod conditional;
mod conn;
pub mod egress;
pub mod guard;
pub mod info;
pub mod pages;
mod plan;
pub mod range;
pub(crate) mod request;
pub mod routes;
pub mod server;
mod slots;
mod state;
