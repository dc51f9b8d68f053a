//! Run the Smappee and Enode API emulators as a standalone process, for trying a config or measuring
//! the service without hardware: `cargo run --example emulators`. Prints the URLs and the credentials
//! they accept, then serves until Ctrl-C. A car is plugged in at the Smappee station.

use std::sync::Arc;
use sunplug::clock::{Clock, SystemClock};
use sunplug::emulators::enode::{self, EnodeEmulator};
use sunplug::emulators::smappee::{EmulatorConfig, SmappeeEmulator};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cfg = EmulatorConfig::default();
    let smappee = SmappeeEmulator::start(cfg.clone(), clock.clone()).await?;
    smappee.plug_in(1);
    let enode = EnodeEmulator::start_with(clock).await?;
    let user = enode.vehicle().map(|v| v.user_id).unwrap_or_default();
    println!("smappee_base_url={}", smappee.base_url());
    println!("smappee_client_id={}", cfg.client_id);
    println!("smappee_client_secret={}", cfg.client_secret);
    println!("smappee_username={}", cfg.username);
    println!("smappee_password={}", cfg.password);
    println!("smappee_serial={}", cfg.station_serial);
    println!("enode_api_url={}", enode.api_url());
    println!("enode_oauth_url={}", enode.oauth_url());
    println!("enode_client_id={}", enode::CLIENT_ID);
    println!("enode_client_secret={}", enode::CLIENT_SECRET);
    println!("enode_user_id={user}");
    println!("enode_vehicle_id={}", enode.vehicle_id());
    println!("ready");
    tokio::signal::ctrl_c().await?;
    Ok(())
}
