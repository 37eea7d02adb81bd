//! Platform tests against the real Postgres and NATS, each in its own schema and stream.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed, and says where

mod config;
mod db;
mod events;
mod leader;
