#!/usr/bin/env python3
"""Client side of the `ha` scenario's checks, run on the load balancer host.

The standard library only (the host has no client packages), speaking HTTPS to the load
balancer and to each API host with the lab CA, and authenticating with Keystone like any
client. Two commands, each printing one JSON line (with the store the image landed in) and
exiting non-zero on a failed check (molecule/_shared/verify-stores.yml compares the bytes of
every store through each path):

  ha_client.py direct        glance-direct: stage through the first API host, import through
                             the second, wait for `active`, download through the load balancer
  ha_client.py loop STOP     uploads, downloads and lists through the load balancer, one request
                             at a time, until the file STOP exists; counts requests and failures

Settings come from the environment: OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,
HA_LB_URL, HA_API_URLS (comma-separated), HA_CACERT.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request
from typing import Any

TIMEOUT = 120
OCTET = "application/octet-stream"
ENV = os.environ


class CheckFailed(Exception):
    """A request answered with something other than what the check expects."""


class Client:
    """Keystone token plus HTTPS requests against one or more image API URLs."""

    def __init__(self) -> None:
        self.context = ssl.create_default_context(cafile=ENV["HA_CACERT"])
        self.token = self._token()

    def _token(self) -> str:
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": ENV["OS_USERNAME"], "domain": {"name": "Default"},
                "password": ENV["OS_PASSWORD"]}}},
            "scope": {"project": {"name": ENV["OS_PROJECT_NAME"], "domain": {"name": "Default"}}},
        }}
        request = urllib.request.Request(
            ENV["OS_AUTH_URL"].rstrip("/") + "/auth/tokens", data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.context) as answer:
            return answer.headers["X-Subject-Token"]

    def call(self, base: str, method: str, path: str, expect: int, body: bytes | None = None,
             content_type: str = "application/json") -> bytes:
        """One request; raises CheckFailed unless the status is `expect`."""
        headers = {"X-Auth-Token": self.token}
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(base + path, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.context) as answer:
                status, data = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, data = error.code, error.read()
        if status != expect:
            raise CheckFailed(f"{method} {base}{path}: {status} {data[:300]!r}")
        return data

    def create(self, base: str, name: str) -> str:
        meta = {"name": name, "disk_format": "raw", "container_format": "bare"}
        answer = self.call(base, "POST", "/v2/images", 201, json.dumps(meta).encode())
        return json.loads(answer)["id"]

    def discard(self, base: str, image: str) -> None:
        """Delete an image left by a failed check, keeping the check's own error."""
        with contextlib.suppress(CheckFailed, OSError):
            self.call(base, "DELETE", f"/v2/images/{image}", 204)

    def show(self, base: str, image: str) -> dict[str, Any]:
        return json.loads(self.call(base, "GET", f"/v2/images/{image}", 200))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, sha256(data)


def check_direct(client: Client) -> dict[str, Any]:
    """glance-direct across hosts: staged on the first API host, imported through the second."""
    lb, apis = ENV["HA_LB_URL"], ENV["HA_API_URLS"].split(",")
    data, digest = payload(4 * 1024 * 1024)
    image = client.create(lb, "ha-direct")
    try:
        client.call(apis[0], "PUT", f"/v2/images/{image}/stage", 204, data, OCTET)
        client.call(apis[1], "POST", f"/v2/images/{image}/import", 202,
                    json.dumps({"method": {"name": "glance-direct"}}).encode())
        deadline = time.monotonic() + 120
        while (state := (shown := client.show(lb, image))["status"]) not in (
                "active", "queued", "killed"):
            if time.monotonic() > deadline:
                raise CheckFailed(f"image {image} still {state} after 120 s")
            time.sleep(1)
        if state != "active":
            raise CheckFailed(
                f"import of {image} staged on {apis[0]} through {apis[1]} ended {state}")
        got = sha256(client.call(lb, "GET", f"/v2/images/{image}/file", 200))
    finally:
        client.discard(lb, image)
    if got != digest:
        raise CheckFailed(f"staged sha256 {digest}, downloaded {got}")
    return {"check": "direct", "staged_on": apis[0], "imported_through": apis[1],
            "stores": shown.get("stores", ""), "sha256": digest}


def run_loop(client: Client, stop_file: str) -> dict[str, Any]:
    """Upload, download, list and delete through the load balancer until stop_file exists.

    The first image's stores are reported (the default store every upload goes to). Each
    request that fails (an error status or no answer) is counted; its iteration is then
    abandoned and any image it created is deleted in the next one, so one failure never
    counts twice.
    """
    lb = ENV["HA_LB_URL"]
    counts: dict[str, Any] = {"requests": 0, "failed": 0, "iterations": 0}
    failures: list[str] = []
    leftovers: list[str] = []
    data, digest = payload(1024 * 1024)

    def step(method: str, path: str, expect: int, body: bytes | None = None,
             content_type: str = "application/json") -> bytes:
        counts["requests"] += 1
        try:
            return client.call(lb, method, path, expect, body, content_type)
        except (CheckFailed, OSError) as error:
            counts["failed"] += 1
            failures.append(f"{time.strftime('%H:%M:%S')} {error}")
            raise

    started = time.monotonic()
    while not os.path.exists(stop_file):
        counts["iterations"] += 1
        try:
            while leftovers:
                step("DELETE", f"/v2/images/{leftovers[-1]}", 204)
                leftovers.pop()
            meta = {"name": "ha-loop", "disk_format": "raw", "container_format": "bare"}
            image = json.loads(step("POST", "/v2/images", 201, json.dumps(meta).encode()))["id"]
            leftovers.append(image)
            step("PUT", f"/v2/images/{image}/file", 204, data, OCTET)
            if "stores" not in counts:
                counts["stores"] = json.loads(step("GET", f"/v2/images/{image}", 200))["stores"]
            if sha256(step("GET", f"/v2/images/{image}/file", 200)) != digest:
                counts["failed"] += 1
                failures.append(f"{time.strftime('%H:%M:%S')} {image}: downloaded bytes differ")
            step("GET", "/v2/images?limit=5", 200)
            step("DELETE", f"/v2/images/{image}", 204)
            leftovers.pop()
        except (CheckFailed, OSError):
            time.sleep(0.5)
    counts["seconds"] = round(time.monotonic() - started, 1)
    return {"check": "loop", **counts, "failures": failures[:20]}


def main(argv: list[str]) -> int:
    client = Client()
    try:
        if argv[1:] == ["direct"]:
            result = check_direct(client)
        elif len(argv) == 3 and argv[1] == "loop":
            result = run_loop(client, argv[2])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except CheckFailed as error:
        print(json.dumps({"check": argv[1], "error": str(error)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
