#!/usr/bin/env python3
"""An OCPP 1.6J charge point for sunplug's tests, built on the Mobility House `ocpp` package
(https://github.com/mobilityhouse/ocpp), a client sunplug did not write: it validates every
message it sends and receives against the OCPP 1.6 JSON schemas.

It connects to --url with subprotocol ocpp1.6 (HTTP Basic auth when --password is given), boots,
reports its connector's status, then follows commands on stdin, one per line:

    answer Accepted|Rejected|NotSupported   how to answer the next SetChargingProfile calls
    status <ChargePointStatus>              send a StatusNotification for connector 1
    meter <watts>                           send MeterValues (power, current per phase, energy)
    drop                                    close the WebSocket, then reconnect (no new boot)
    quit

and prints events on stdout as JSON lines: connected, booted, profile (limit, unit, purpose,
answer), call (any other CALL from the central system), ok (a command done), closed.
"""

import argparse
import asyncio
import base64
import datetime
import json
import sys
import threading

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as BaseChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action


def emit(**event):
    print(json.dumps(event), flush=True)


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class ChargePoint(BaseChargePoint):
    answer = "Accepted"

    @on(Action.set_charging_profile)
    async def on_set_charging_profile(self, connector_id, cs_charging_profiles, **kwargs):
        schedule = cs_charging_profiles["charging_schedule"]
        emit(
            event="profile",
            connector=connector_id,
            limit=float(schedule["charging_schedule_period"][0]["limit"]),
            unit=schedule["charging_rate_unit"],
            purpose=cs_charging_profiles["charging_profile_purpose"],
            answer=ChargePoint.answer,
        )
        return call_result.SetChargingProfile(status=ChargePoint.answer)

    @on(Action.change_configuration)
    async def on_change_configuration(self, key, value, **kwargs):
        emit(event="call", action="ChangeConfiguration", key=key, value=value)
        return call_result.ChangeConfiguration(status="Accepted")

    @on(Action.trigger_message)
    async def on_trigger_message(self, requested_message, **kwargs):
        emit(event="call", action="TriggerMessage", requested=requested_message)
        return call_result.TriggerMessage(status="Accepted")


def stdin_lines(loop, queue):
    for line in sys.stdin:
        loop.call_soon_threadsafe(queue.put_nowait, line.strip())
    loop.call_soon_threadsafe(queue.put_nowait, "quit")


async def session(args, state, lines):
    headers = {}
    if args.password:
        token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    async with websockets.connect(
        args.url, subprotocols=["ocpp1.6"], additional_headers=headers
    ) as ws:
        cp = ChargePoint(args.id, ws, response_timeout=15)
        emit(event="connected")
        runner = asyncio.create_task(cp.start())
        if state["boot"]:
            r = await cp.call(
                call.BootNotification(
                    charge_point_model="PyChargePoint", charge_point_vendor="mobilityhouse-ocpp"
                )
            )
            emit(event="booted", status=r.status, interval=r.interval)
            state["boot"] = False
        await cp.call(
            call.StatusNotification(connector_id=1, error_code="NoError", status=state["status"])
        )
        while True:
            line = await lines.get()
            cmd, _, arg = line.partition(" ")
            if cmd == "answer":
                ChargePoint.answer = arg
            elif cmd == "status":
                state["status"] = arg
                await cp.call(
                    call.StatusNotification(connector_id=1, error_code="NoError", status=arg)
                )
            elif cmd == "meter":
                watts = float(arg)
                amps = watts / 690.0
                sampled = [{"value": f"{watts:.1f}", "measurand": "Power.Active.Import", "unit": "W"}]
                sampled += [
                    {"value": f"{amps:.1f}", "measurand": "Current.Import", "phase": p, "unit": "A"}
                    for p in ("L1", "L2", "L3")
                ]
                sampled.append(
                    {"value": "1234.0", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}
                )
                await cp.call(
                    call.MeterValues(
                        connector_id=1,
                        meter_value=[{"timestamp": now(), "sampled_value": sampled}],
                    )
                )
            elif cmd == "drop":
                runner.cancel()
                emit(event="ok", cmd=cmd)
                return "reconnect"
            elif cmd == "quit":
                runner.cancel()
                return "quit"
            else:
                emit(event="error", detail=f"unknown command {line!r}")
                continue
            emit(event="ok", cmd=cmd)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--password")
    parser.add_argument("--status", default="Available")
    args = parser.parse_args()
    lines = asyncio.Queue()
    threading.Thread(
        target=stdin_lines, args=(asyncio.get_running_loop(), lines), daemon=True
    ).start()
    state = {"boot": True, "status": args.status}
    while True:
        try:
            outcome = await session(args, state, lines)
        except websockets.exceptions.ConnectionClosed as e:
            emit(event="closed", detail=str(e))
            outcome = "reconnect"
        emit(event="closed", detail=outcome)
        if outcome == "quit":
            return


if __name__ == "__main__":
    asyncio.run(main())
