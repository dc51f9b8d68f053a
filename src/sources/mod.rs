//! Where observations come from: the solar surplus (MQTT meters) and the vehicle (Enode, Cariad, MQTT).
//!
//! Owns: `surplus` (meter presets, payload parsing, freshness), `prices` (fixed table, aWATTar), `forecast` (forecast.solar, Open-Meteo, MQTT; PV → surplus) and `vehicle` (vehicle clients and the
//! `VehicleSource` the daemon polls). Each turns vendor data into the control core's types
//! ([`crate::control::MeterSample`], [`crate::control::VehicleObs`]).

pub mod forecast;
pub mod payload;
pub mod prices;
pub mod surplus;
pub mod vehicle;
