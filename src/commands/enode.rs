//! `sunplug enode link` and `sunplug enode vehicles`: the two setup steps before the car's id is known.
//!
//! Both read `[enode]` (credentials, environment, URLs) but not `vehicle_id`, which is what they help
//! find. The link session asks for the three vehicle scopes sunplug uses: data, location and charging
//! control (vendor-apis.md §1.5; seed 000 shows the same request).

use crate::cli::EnodeCommand;
use crate::config::values::{SecretSource, resolve_secret};
use crate::config::vehicle::EnodeSection;
use crate::config::{self, Needs};
use crate::sources::vehicle::enode::client::EnodeClient;
use crate::sources::vehicle::enode::wire::LinkRequest;
use anyhow::{Context, anyhow};
use std::path::Path;
use std::process::ExitCode;

/// The scopes a link session asks for.
pub const LINK_SCOPES: &[&str] = &[
    "vehicle:read:data",
    "vehicle:read:location",
    "vehicle:control:charging",
];

/// `sunplug enode ...`.
pub async fn run(command: EnodeCommand) -> anyhow::Result<ExitCode> {
    match command {
        EnodeCommand::Link {
            config,
            user,
            vendor,
            redirect_uri,
        } => link(&config.config, &user, vendor.as_deref(), &redirect_uri).await,
        EnodeCommand::Vehicles { config } => vehicles(&config.config).await,
    }
}

/// `[enode]` and a client for it; the secret comes from the same places the service reads it from.
pub fn setup(path: &Path) -> anyhow::Result<(EnodeSection, EnodeClient)> {
    let cfg = config::load(path, Needs::default())
        .map_err(|p| anyhow!("{}", p.to_string().trim_end()))?;
    let e = cfg.enode.ok_or_else(|| {
        anyhow!(
            "{} has no [enode] section: add one with client_id and client_secret_file (see docs/vehicles.md)",
            path.display()
        )
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let secret = resolve_secret(&SecretSource {
        key: "enode.client_secret_file",
        file: e.client_secret_file.as_ref().map(|f| dir.join(f)),
        credential: "enode-client-secret",
        env: "SUNPLUG_ENODE_CLIENT_SECRET",
    })
    .map_err(|m| anyhow!("enode.client_secret_file: {m}"))?;
    let client = crate::sources::vehicle::enode::client_from_config(
        &e,
        secret,
        crate::vendor::http_client(Default::default()),
    )
    .map_err(|m| anyhow!("[enode]: {m}"))?;
    Ok((e, client))
}

async fn link(
    path: &Path,
    user: &str,
    vendor: Option<&str>,
    redirect_uri: &str,
) -> anyhow::Result<ExitCode> {
    if user.trim().is_empty() {
        anyhow::bail!("--user must not be empty: choose any stable id, e.g. \"home\"");
    }
    let (e, client) = setup(path)?;
    let req = LinkRequest {
        vendor_type: "vehicle".into(),
        scopes: LINK_SCOPES.iter().map(|s| s.to_string()).collect(),
        language: "browser".into(),
        redirect_uri: redirect_uri.to_string(),
        vendor: vendor.map(|v| v.trim().to_uppercase()),
    };
    let answer = client
        .link(user, &req)
        .await
        .context("creating the Enode link session failed")?;
    println!("Open this link in a browser and sign in with the car maker's account");
    println!("(valid for 24 hours, single use):");
    println!();
    println!("  {}", answer.link_url);
    println!();
    if e.user_id.as_deref() != Some(user) {
        println!("Then set `user_id = \"{user}\"` in [enode], and run");
    } else {
        println!("Then run");
    }
    println!("  sunplug enode vehicles --config {}", path.display());
    println!("to find the car's id for `vehicle_id`.");
    Ok(ExitCode::SUCCESS)
}

async fn vehicles(path: &Path) -> anyhow::Result<ExitCode> {
    let (e, client) = setup(path)?;
    // The configured user's vehicles; when there are none, every vehicle of the client (the car may
    // have been linked under another user id).
    let mut list = Vec::new();
    if let Some(user) = e.user_id.as_deref() {
        list = client
            .vehicles(Some(user))
            .await
            .context("listing the Enode vehicles failed")?;
        if list.is_empty() {
            println!("No vehicle is linked to user \"{user}\"; all vehicles of this Enode client:");
        }
    }
    if list.is_empty() {
        list = client
            .vehicles(None)
            .await
            .context("listing the Enode vehicles failed")?;
    }
    if list.is_empty() {
        println!("No vehicle is linked to this Enode client yet.");
        println!(
            "Link one with: sunplug enode link --config {} --user home",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|v| {
            let info = v.information.clone().unwrap_or_default();
            let dash = |o: Option<String>| o.unwrap_or_else(|| "-".into());
            [
                v.id.clone(),
                dash(info.brand.or_else(|| v.vendor.clone())),
                dash(info.model),
                dash(info.year.map(|y| y.to_string())),
                dash(info.vin),
                dash(v.user_id.clone()),
            ]
        })
        .collect();
    let header = ["ID", "BRAND", "MODEL", "YEAR", "VIN", "USER"];
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 6]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
    }
    println!();
    println!("Put the car's ID in [enode] vehicle_id.");
    Ok(ExitCode::SUCCESS)
}
