//! Chargers sunplug can drive: Smappee through its cloud API, and any OCPP 1.6J charger through the
//! central system sunplug runs itself.

pub mod ocpp;
pub mod smappee;
