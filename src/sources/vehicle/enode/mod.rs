//! Enode.
pub mod map;
pub mod wire;
