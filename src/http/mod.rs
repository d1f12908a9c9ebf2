//! The HTTP side: accepting connections, routing, and response bodies.

pub mod access;
pub mod body;
pub mod conditional;
pub mod guard;
pub mod head;
pub mod info;
pub mod pages;
pub mod range;
pub mod routes;
pub mod server;
