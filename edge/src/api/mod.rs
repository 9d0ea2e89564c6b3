//! The HTTP and WebSocket surface: thin handlers that translate requests into engine
//! commands and the engine's events into answers, and the one error type they return.

pub mod account;
pub mod admin;
pub mod body;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod public;
pub mod time_range;
pub mod trading;
pub mod translate;
pub mod wallet;
pub mod ws;
