//! The service: wiring sources, the controller and the charger into one loop.
//!
//! Owns: the event loop (`run`), the charger writer task, the demo ([`demo`]), restart state ([`state`]), the price and forecast tasks ([`prices`], [`forecast`]), Home Assistant
//! discovery and commands ([`ha`]), recording for replay ([`recorder`]) and systemd ([`systemd`]).

pub mod adapters;
pub mod forecast;
pub mod ha;
pub mod ports;
pub mod prices;
pub mod recorder;
mod reload;
pub mod run;
pub mod service;
mod settings;
pub mod state;
pub mod systemd;
mod view;
pub mod writer;
