//! The HTTP side: accepting connections, routing, and response bodies.

pub mod body;
pub mod routes;
pub mod server;
