//! HTTP emulators of the vendor APIs, on 127.0.0.1:0: they behave like the real services (auth,
//! token expiry, rate limits, validation, quirks, error shapes) and take injected faults, so tests and
//! `sunplug demo` run the real clients against them. Each records the requests it received.
//!
//! - [`smappee`]: the Smappee API (password/refresh grants, discovery, connector mode and limits,
//!   the replug reset of PAUSED, inexact AMPERE delivery).
//! - [`enode`]: the Enode API (client-credentials tokens, vehicles, link sessions, charge actions).
//! - [`cariad`]: the Cariad BFF (rotating refresh tokens, `selectivestatus` with 207s and a daily budget).
//! - [`awattar`]: aWATTar's day-ahead market data (fair-use window, wrong units, partial days).
//! - [`tibber`]: Tibber's GraphQL `priceInfo` (bearer token, 200-with-errors auth failures, hourly or
//!   15-min lists, tomorrow published later).
//! - [`entsoe`]: the ENTSO-E day-ahead prices (A44 XML with A03 curves, acknowledgements, 401, 429).
//! - [`forecast_solar`]: forecast.solar's public estimate (12 calls an hour, `retry-at`, partial days).
//! - [`open_meteo`]: Open-Meteo's irradiance forecast (hourly GHI/diffuse, 15-minute tilted, `null` gaps).
//! - [`common`]: what they share (server, request log, faults, rate windows).

pub mod awattar;
pub mod cariad;
pub mod common;
pub mod enode;
pub mod entsoe;
pub mod forecast_solar;
pub mod open_meteo;
pub mod smappee;
pub mod tibber;
