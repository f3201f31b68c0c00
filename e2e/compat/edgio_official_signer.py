#!/usr/bin/env python3
"""Limelight's own request signer against our Edgio mock.

Edgio's platform is gone, so the mock is the only server our client ever meets. To check that the
mock behaves like the real API for an official client, this drives it with `requests-llnw-auth`
(Limelight's published `requests` auth plugin, the signer behind their HTTPie plugin), unchanged,
through a whole lifecycle. `requests` serialises `json=` bodies with ", " and ": " separators, as
Limelight's Python SDK did, so the mock must hash the raw bytes to accept them.

Usage: edgio_official_signer.py PATH_TO_EDGIO_MOCK
Prints one line per check and ends with "compat: N passed, M failed".
"""

import json
import subprocess
import sys

import requests
from requests_llnw_auth import LLNWAuth

USER = "compat"
KEY = "00112233445566778899aabbccddeeff"
SHORTNAME = "compat"
OTHER_SHORTNAME = "someone-else"


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"  ✓ {what}")
        else:
            self.failed += 1
            print(f"  ✗ {what}: {detail}")


def instance(host, path, port):
    return {
        "accounts": [{"shortname": SHORTNAME}],
        "body": {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": "LLNW-Generic",
            "publishedHostname": host,
            "publishedUrlPath": path,
            "sourceHostname": "origin.example.com",
            "sourceUrlPath": "",
            "protocolSets": [
                {
                    "publishedProtocol": "http",
                    "sourceProtocol": "http",
                    "sourcePort": port,
                    "options": [],
                }
            ],
        },
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    mock = subprocess.Popen(
        [
            sys.argv[1],
            "--listen", "127.0.0.1:0",
            "--edge-listen", "127.0.0.1:0",
            "--user", f"{USER}:{KEY}:{SHORTNAME}",
            "--user", f"other:{KEY}:{OTHER_SHORTNAME}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    checks = Checks()
    try:
        first = mock.stdout.readline()
        try:
            base = json.loads(first)["api"] + "/config-api/v1"
        except (ValueError, KeyError):
            sys.exit(f"compat: edgio-mock did not print its start-up line (got {first!r})")
        run(base, checks)
    finally:
        mock.terminate()
        mock.wait(timeout=10)
    print(f"compat: {checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


def run(base, checks):
    auth = LLNWAuth(USER, KEY)
    s = requests.Session()
    s.auth = auth
    s.headers["Content-Type"] = "application/json"
    print(f"Limelight's requests-llnw-auth against edgio-mock at {base}")

    r = s.post(f"{base}/svcinst/delivery", json=instance("compat.s.llnwi.net", "/fred", 30080))
    checks.check("create answers 200 with a server-assigned uuid", r.status_code == 200
                 and r.json().get("uuid"), f"{r.status_code} {r.text[:200]}")
    if r.status_code != 200:
        return
    created = r.json()
    uuid = created["uuid"]
    checks.check("create starts at revision 1", created["revision"]["versionNumber"] == 1,
                 created.get("revision"))

    r = s.get(f"{base}/svcinst/delivery/{uuid}")
    checks.check("get returns the instance", r.status_code == 200
                 and r.json()["body"]["publishedUrlPath"] == "/fred", f"{r.status_code} {r.text[:200]}")

    r = s.get(f"{base}/svcinst/delivery/shortname/{SHORTNAME}", params={"size": 10, "page": 1})
    checks.check("list by shortname (signed with a query string) finds it", r.status_code == 200
                 and [i["uuid"] for i in r.json()["results"]] == [uuid], f"{r.status_code} {r.text[:200]}")

    r = s.get(f"{base}/svcinst/delivery/shortname/{SHORTNAME}/searchAuto",
              params={"body.publishedUrlPath": "/fred", "body.publishedHostname": "compat.s.llnwi.net"})
    checks.check("searchAuto with percent-encoded values finds it", r.status_code == 200
                 and len(r.json()["results"]) == 1, f"{r.status_code} {r.text[:200]}")

    r = s.post(f"{base}/svcinst/delivery", json=instance("compat.s.llnwi.net", "/fred", 30080))
    checks.check("a duplicate published host + path is 409 naming the existing uuid",
                 r.status_code == 409 and uuid in r.text, f"{r.status_code} {r.text[:200]}")

    replacement = dict(created)
    for key in ("revision", "shortname", "status"):
        replacement.pop(key, None)
    replacement["body"]["protocolSets"][0]["sourcePort"] = 30081
    r = s.put(f"{base}/svcinst/delivery/{uuid}", json=replacement)
    checks.check("replace bumps the revision and keeps the change", r.status_code == 200
                 and r.json()["revision"]["versionNumber"] == 2
                 and r.json()["body"]["protocolSets"][0]["sourcePort"] == 30081,
                 f"{r.status_code} {r.text[:200]}")

    r = requests.post(f"{base}/svcinst/delivery", json=instance("x.s.llnwi.net", "/x", 1),
                      auth=LLNWAuth(USER, "ff" * 16))
    checks.check("a wrong key is 401", r.status_code == 401, f"{r.status_code} {r.text[:200]}")

    foreign = instance("y.s.llnwi.net", "/y", 1)
    foreign["accounts"] = [{"shortname": OTHER_SHORTNAME}]
    r = s.post(f"{base}/svcinst/delivery", json=foreign)
    checks.check("an account the user cannot use is 403", r.status_code == 403,
                 f"{r.status_code} {r.text[:200]}")

    # The Python SDK sends DELETE with the 4-byte body `null`; the signer hashes it.
    r = s.delete(f"{base}/svcinst/delivery/{uuid}", data="null")
    checks.check("delete with a `null` body answers 200", r.status_code == 200,
                 f"{r.status_code} {r.text[:200]}")

    r = s.get(f"{base}/svcinst/delivery/{uuid}")
    checks.check("get after delete is 404", r.status_code == 404, f"{r.status_code} {r.text[:200]}")


if __name__ == "__main__":
    main()
