//! Cariad.
pub mod map;
pub mod wire;
