//! The service: wiring sources, the controller and the charger into one loop.
//!
//! Owns: the event loop (`run`; [`site_run`] for several loadpoints, with their Home Assistant
//! devices in [`ha_site`]), the charger writer task, the demo ([`demo`]), restart state
//! ([`state`]), the price and forecast tasks ([`prices`], [`forecast`]), Home Assistant discovery
//! and commands ([`ha`]), recording for replay ([`recorder`]) and systemd ([`systemd`]).

pub mod adapters;
pub mod forecast;
pub mod ha;
pub mod ha_site;
pub mod ports;
pub mod prices;
pub mod recorder;
mod reload;
pub mod run;
pub mod service;
mod settings;
pub mod site_run;
mod site_setup;
pub mod state;
pub mod systemd;
mod view;
pub mod writer;
