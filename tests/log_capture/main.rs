//! The tests that capture every log line of the process (tracing's global subscriber), in a binary of
//! their own so that no other test's lines reach the buffer. They take `LogBuffer::lock` one at a time.

#[allow(unused_imports)]
#[path = "../it/support/mod.rs"]
mod support;

mod ocpp_logs;
mod smappee_logs;
mod vehicle_secrets;
