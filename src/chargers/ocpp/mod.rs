//! OCPP 1.6J: a central system inside sunplug, so any OCPP charger (Alfen, ABB, Keba, Wallbox,
//! go-e, …) is driven locally, with no cloud in the loop.
//!
//! Layout:
//! - `wire`: OCPP-J frames and the 1.6 payloads sunplug uses, as serde types;
//! - `handshake`: who may connect (path → charge point id, subprotocol `ocpp1.6`, HTTP Basic auth =
//!   security profile 1) and the TLS configuration (security profile 2);
//! - `handlers`: pure answers to BootNotification, Heartbeat, StatusNotification, MeterValues,
//!   Authorize, Start/StopTransaction;
//! - `state`: per charge point state and the mapping to the controller's `ChargerObs`;
//! - `server`: [`CentralSystem`], the WebSocket server, sessions and CALLs to charge points;
//! - `port`: [`OcppCharger`], the `ChargerPort` below the actuator (SetChargingProfile);
//! - `setup`: both built from `[ocpp]`.
//!

pub mod handlers;
pub mod handshake;
pub mod port;
pub mod server;
pub mod setup;
pub mod state;
pub mod wire;

pub use handlers::Authorize;
pub use handshake::ChargePointEntry;
pub use port::OcppCharger;
pub use server::{CallFailure, CentralSystem, OcppEvent, ServerSettings};
