//! The HTTP side: accepting connections, routing, and response bodies.

pub mod body;
pub mod conditional;
pub mod range;
pub mod routes;
pub mod server;
