//! The integration tests, one binary (one link step) instead of one per file. Each module is the
//! tests of one area; `support` holds everything they share. The tests that capture every log line
//! of the process live in `tests/log_capture`, a binary of their own (a global subscriber would see
//! the lines of every other test running in parallel here).

mod support;

mod actuator;
mod check_config;
mod control_policies;
mod control_script;
mod control_solar_loop;
mod daemon_loop;
mod deb_package;
mod demo;
mod e2e_service;
mod e2e_site;
mod forecast_sources;
mod guard_props;
mod install_recipe;
mod loadpoint_config;
mod ocpp_central;
mod ocpp_cli;
mod ocpp_daemon;
mod ocpp_python;
mod plan_cli;
mod plan_policy;
mod plan_props;
mod prices_awattar;
mod prices_entsoe;
mod prices_mqtt;
mod prices_tibber;
mod recording_replay;
mod report_browser;
mod scenario_config;
mod share_bound;
mod sim_cli;
mod sim_controller;
mod sim_days;
mod sim_fast_path;
mod sim_oracle;
mod sim_plan;
mod sim_synthetic;
mod sim_tune;
mod site_loop;
mod smappee_auth;
mod smappee_cli;
mod smappee_commands;
mod smappee_faults;
mod smappee_vendor;
mod surplus_config;
mod surplus_freshness;
mod surplus_fuzz;
mod surplus_link;
mod surplus_presets;
mod surplus_probe;
mod surplus_tls;
mod surplus_tracker;
mod vehicle_cariad;
mod vehicle_cli;
mod vehicle_enode;
mod vehicle_enode_poller;
mod vehicle_mqtt_probe;
mod vendor_fuzz;
