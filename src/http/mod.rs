//! The HTTP side: accepting connections, routing, and response bodies.

pub mod access;
pub mod body;
pub mod conditional;
mod conn;
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
