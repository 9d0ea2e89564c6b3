//! Who is asking: passwords, tokens and API keys, the extractors that authenticate a
//! request, and the rate limits per user and per address.

pub mod auth;
pub mod extract;
pub mod rate_limit;
