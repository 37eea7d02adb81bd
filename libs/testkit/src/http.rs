//! HTTP for tests, as a portal speaks it: each request on a connection of its own (a test's
//! runtime ends with it), through the platform's client.

pub use hwx_platform::http::{Response, request, request_raw};
