//! Chargers sunplug can drive. Today: Smappee.

pub mod smappee;
