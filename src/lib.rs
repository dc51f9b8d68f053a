//! sunplug: a solar-aware EV charging controller for Smappee chargers, with a replay simulator.
//!
//! # Layout
//! - [`units`]: `Watts`, `Amps`, `Soc`, phases, A ↔ W and the Smappee percentage scale.
//! - [`diag`]: problems in a TOML file with file, line and key, and did-you-mean hints (config and policies).
//! - [`config`]: `sunplug.toml` (serde, every problem reported at once with its line), secrets.
//! - [`control`]: the pure core. `Controller::step(now, &Observation) -> Decision`: policies, PI loop,
//!   start/stop hysteresis, stale fail-safe, the guard, and the actuator (`control::actuate`: command →
//!   charger request, shared by the daemon's writer and the simulator). No I/O, no clock.
//! - [`mqtt`]: the one broker connection (`MqttLink`): reconnect, resubscribe, last will, TLS.
//! - [`sources`]: the surplus from MQTT meters; the vehicle from Enode, Cariad or MQTT.
//! - [`chargers`]: the Smappee client (OAuth, mode/limit commands, discovery) and the OCPP 1.6J central
//!   system any OCPP charger connects to (`chargers::ocpp`, `[charger] kind = "ocpp"`).
//! - [`vendor`]: the shared error vocabulary and HTTP plumbing of every vendor adapter.
//! - [`emulators`]: the vendor APIs emulated on port 0, for tests and `sunplug demo` (cargo feature
//!   `emulators`, on by default: `--no-default-features` builds the service without axum).
//! - [`sim`]: the replay simulator: real PV/load days, car and charger models, metrics, oracle, plots.
//! - [`daemon`]: the service: event loop, charger writer, persistence, systemd, Home Assistant.
//! - [`demo`]: `sunplug demo`, the daemon against the emulators and a replayed day (feature `emulators`).
//! - [`backoff`]: the one capped doubling wait every retry loop uses.
//! - [`clock`]: the only place that reads a clock.
//! - [`files`]: the one atomic file write (state file, token stores).
//! - [`cli`] / [`commands`]: the command line and the one-shot commands.

pub mod backoff;
pub mod chargers;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod control;
pub mod daemon;
#[cfg(feature = "emulators")]
pub mod demo;
pub mod diag;
#[cfg(feature = "emulators")]
pub mod emulators;
pub mod files;
pub mod logging;
pub mod mqtt;
pub mod sim;
pub mod sources;
pub mod units;
pub mod vendor;
