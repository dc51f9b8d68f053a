#!/usr/bin/env bash
# Measure the running service's memory and CPU: `sunplug run` (release build) against a local
# mosquitto, the Smappee and Enode emulators and a meter publishing every second, for MINUTES minutes
# (default 5). Prints the resident memory (VmRSS, VmHWM) and the CPU time the service used.
# Needs mosquitto and mosquitto_pub (Debian: apt-get install mosquitto mosquitto-clients).
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${MINUTES:-5}
PV_W=${PV_W:-0}          # 0: idle (no sun, the car paused); e.g. 8000 to measure while charging
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --bin sunplug --example emulators
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
./target/release/examples/emulators > "$work/emulators.env" &
for _ in $(seq 50); do grep -q '^ready' "$work/emulators.env" 2>/dev/null && break; sleep 0.2; done
. <(grep = "$work/emulators.env" | sed 's/^/export /')
mkdir -p "$work/secrets" "$work/state" "$work/policies"
cp policies/pv-only.toml "$work/policies/"
printf '%s' "$smappee_client_secret" > "$work/secrets/smappee-client-secret"
printf '%s' "$smappee_password" > "$work/secrets/smappee-password"
printf '%s' "$enode_client_secret" > "$work/secrets/enode"
cat > "$work/sunplug.toml" <<TOML
[site]
timezone = "Europe/Brussels"
[control]
interval = "5s"
policy = "policies/pv-only.toml"
state_dir = "state"
[mqtt]
host = "127.0.0.1"
port = $port
[surplus]
topic = "meter/grid"
[vehicle]
kind = "enode"
capacity_kwh = 60
[enode]
environment = "sandbox"
client_id = "$enode_client_id"
client_secret_file = "secrets/enode"
user_id = "$enode_user_id"
vehicle_id = "$enode_vehicle_id"
api_url = "$enode_api_url"
oauth_url = "$enode_oauth_url"
[charger]
limit_unit = "percentage"
max_current_a = 32
[smappee]
client_id = "$smappee_client_id"
client_secret_file = "secrets/smappee-client-secret"
username = "$smappee_username"
password_file = "secrets/smappee-password"
serial = "$smappee_serial"
base_url = "$smappee_base_url"
TOML
./target/release/sunplug check-config "$work/sunplug.toml" > /dev/null
( while true; do mosquitto_pub -h 127.0.0.1 -p "$port" -t meter/grid -m "$((500 - PV_W))"; sleep 1; done ) &
RUST_LOG=warn ./target/release/sunplug run --config "$work/sunplug.toml" &
pid=$!
sleep 10
ticks0=$(awk '{print $14+$15}' /proc/$pid/stat)
sleep $((MINUTES * 60))
ticks1=$(awk '{print $14+$15}' /proc/$pid/stat)
hz=$(getconf CLK_TCK)
rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
cpu=$(python3 -c "print(f'{($ticks1-$ticks0)/$hz/($MINUTES*60)*100:.2f}')")
echo "sunplug run, pv ${PV_W} W, over ${MINUTES} min: RSS $((rss/1024)) MiB (peak $((hwm/1024)) MiB), CPU ${cpu} % of one core"
kill -TERM $pid; wait $pid || true
