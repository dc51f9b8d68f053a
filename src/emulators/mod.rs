//! HTTP emulators of the vendor APIs (axum on 127.0.0.1:0), in the library so both the tests and
//! `sunplug demo` run the real adapters against them. Each behaves like its API (auth, validation,
//! quirks), takes injected faults and records every request.

pub mod smappee;
