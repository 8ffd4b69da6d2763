#!/usr/bin/python3
"""Drive a cvmctl API server with Debian's python3-proxmoxer (1.2.0), unchanged.

Usage: proxmoxer_flow.py '<json>' where the JSON has host, port, node, user, password,
token_name, token_value, vmid and auth ("ticket" or "token").

Runs one scripted VM life cycle the way a proxmoxer user writes it (create, config get/set
with digest, errors, start/stop under TCG, task wait, destroy) and prints ONE JSON object on
stdout: {"steps": {name: {"ok": <returned data>} | {"error": {...}}}, "order": [...]}.
Nothing is asserted here; the vitest file that runs this script asserts on the observations
and on the server's state. A step that raises records the exception as proxmoxer shows it
(ResourceException: status_code, status_message, content = the HTTP reason phrase, errors).
"""

import json
import sys
import time

import requests
from proxmoxer import ProxmoxAPI
from proxmoxer.backends.https import AuthenticationError
from proxmoxer.core import ResourceException

TASK_TIMEOUT = 90.0

cfg = json.loads(sys.argv[1])
steps = {}
order = []


def describe(exc):
    if isinstance(exc, ResourceException):
        return {
            "type": "ResourceException",
            "status_code": exc.status_code,
            "status_message": exc.status_message,
            "content": exc.content,
            "errors": exc.errors if isinstance(exc.errors, (dict, list, str, type(None))) else repr(exc.errors),
            "str": str(exc),
        }
    return {"type": type(exc).__name__, "str": str(exc)}


def step(name, fn):
    """Run fn, record its result or the exception under name, return the result (or None)."""
    order.append(name)
    try:
        value = fn()
        steps[name] = {"ok": value}
        return value
    except Exception as exc:  # noqa: BLE001 - every failure is an observation
        steps[name] = {"error": describe(exc)}
        return None


def connect(**extra):
    base = {"host": cfg["host"], "port": cfg["port"], "verify_ssl": False, "timeout": 30}
    if cfg["auth"] == "token":
        return ProxmoxAPI(user=cfg["user"], token_name=cfg["token_name"], token_value=cfg["token_value"], **base, **extra)
    return ProxmoxAPI(user=cfg["user"], password=cfg["password"], **base, **extra)


def wait_task(api, node, upid):
    """Poll tasks/{upid}/status until stopped (like proxmoxer 2.x Tasks.blocking_status); return status + log."""
    deadline = time.monotonic() + TASK_TIMEOUT
    polls = 0
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        polls += 1
        if status.get("status") == "stopped" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    log = api.nodes(node).tasks(upid).log.get(limit=500)
    return {"status": status, "log": log, "polls": polls}


api = None
order.append("connect")
try:
    api = connect()
    steps["connect"] = {"ok": True}
except Exception as exc:  # noqa: BLE001
    steps["connect"] = {"error": describe(exc)}
if api is None:
    print(json.dumps({"steps": steps, "order": order}))
    sys.exit(0)

node = cfg["node"]
vmid = cfg["vmid"]
qemu = api.nodes(node).qemu

step("version", lambda: api.version.get())
step("nodes", lambda: api.nodes.get())
step("nextid", lambda: api.cluster.nextid.get())

# create: a small plain VM that runs under TCG anywhere
upid = step(
    "create",
    lambda: qemu.create(vmid=vmid, name="px-%s" % cfg["auth"], memory=128, cores=1, kvm=0, vga="none", ostype="other"),
)
if upid:
    step("create_wait", lambda: wait_task(api, node, upid))
step("create_duplicate", lambda: qemu.create(vmid=vmid, name="dup", memory=128))
step("nextid_taken", lambda: api.cluster.nextid.get(vmid=vmid))

# config: get, set with the current digest, set with a now-stale digest
conf = step("config_get", lambda: qemu(vmid).config.get())
digest = conf.get("digest") if isinstance(conf, dict) else None
step("config_set_digest", lambda: qemu(vmid).config.set(cores=2, description="set by proxmoxer", digest=digest))
step("config_after_set", lambda: qemu(vmid).config.get())
step("config_set_stale_digest", lambda: qemu(vmid).config.set(cores=3, digest=digest))
step("config_delete", lambda: qemu(vmid).config.set(delete="description"))
step("pending", lambda: qemu(vmid).pending.get())

# errors as proxmoxer shows them (the reason phrase)
step("error_bad_value", lambda: qemu(vmid).config.set(memory="abc"))
step("error_unknown_param", lambda: qemu(vmid).config.set(nosuchoption=1))
step("error_python_bool", lambda: qemu(vmid).config.set(numa=True))
step("error_missing_vm", lambda: qemu(vmid + 424242).config.get())
step("error_unknown_path", lambda: api.nodes(node).nosuchthing.get())
step("error_unknown_node", lambda: api.nodes("nosuchnode").qemu.get())

step("resources", lambda: api.cluster.resources.get(type="vm"))
step("list", lambda: qemu.get())
step("cluster_tasks", lambda: api.cluster.tasks.get())

# power: start under TCG, status, start again (task fails), suspend/resume/reset, stop
upid = step("start", lambda: qemu(vmid).status.start.post())
if upid:
    step("start_wait", lambda: wait_task(api, node, upid))
step("status_running", lambda: qemu(vmid).status.current.get())
upid = step("start_again", lambda: qemu(vmid).status.start.post())
if upid:
    step("start_again_wait", lambda: wait_task(api, node, upid))
for action, label in (("suspend", "paused"), ("resume", "resumed"), ("reset", "reset")):
    upid = step(action, lambda action=action: getattr(qemu(vmid).status, action).post())
    if upid:
        step(action + "_wait", lambda upid=upid: wait_task(api, node, upid))
    step("status_" + label, lambda: qemu(vmid).status.current.get())
step("destroy_running", lambda: qemu(vmid).delete())
upid = step("stop", lambda: qemu(vmid).status.stop.post())
if upid:
    step("stop_wait", lambda: wait_task(api, node, upid))
step("status_stopped", lambda: qemu(vmid).status.current.get())

# destroy
upid = step("destroy", lambda: qemu(vmid).delete())
if upid:
    step("destroy_wait", lambda: wait_task(api, node, upid))
step("config_after_destroy", lambda: qemu(vmid).config.get())

# auth-specific behaviour
if cfg["auth"] == "ticket":
    ticket = api._store["session"].auth.pve_auth_ticket

    def renew():
        # proxmoxer renews an old ticket by logging in with the ticket as the password
        renewed = ProxmoxAPI(cfg["host"], port=cfg["port"], user=cfg["user"], password=ticket, verify_ssl=False, timeout=30)
        return renewed.version.get()

    step("renew_with_ticket", renew)
    step(
        "wrong_password",
        lambda: ProxmoxAPI(cfg["host"], port=cfg["port"], user=cfg["user"], password="wrong-" + cfg["password"], verify_ssl=False, timeout=30),
    )

    def no_csrf():
        # the cookie alone is not enough for a write: the CSRF header is required
        url = "https://%s:%s/api2/json/nodes/%s/qemu" % (cfg["host"], cfg["port"], node)
        r = requests.post(url, data={"vmid": vmid + 1}, cookies={"PVEAuthCookie": ticket}, verify=False, timeout=30)
        return {"status_code": r.status_code, "reason": r.reason, "body": r.text}

    step("no_csrf", no_csrf)
else:

    def wrong_token():
        bad = ProxmoxAPI(cfg["host"], port=cfg["port"], user=cfg["user"], token_name=cfg["token_name"], token_value="00000000-0000-0000-0000-000000000000", verify_ssl=False, timeout=30)
        return bad.version.get()

    step("wrong_token", wrong_token)

print(json.dumps({"steps": steps, "order": order}))
