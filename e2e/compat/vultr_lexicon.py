#!/usr/bin/env python3
"""A third-party Vultr client against our Vultr mock.

dns-lexicon's Vultr provider (used by certbot plugins and many DNS tools) runs against the real
Vultr API v2. Here its provider class runs unchanged against the mock; only its API endpoint is
pointed at the mock, as any client's base URL would be. It exercises the mock's domain lookup with
cursors, record create (lexicon sends `priority: 0` and quoted TXT), list and unquoting, PATCH and
DELETE, and the results are also checked over the mock's real DNS with `dig` when it is installed.

Usage: vultr_lexicon.py PATH_TO_VULTR_MOCK
Prints one line per check and ends with "compat: N passed, M failed".
"""

import json
import logging
import os
import shutil
import subprocess
import sys

from lexicon._private.providers.vultr import Provider
from lexicon.config import ConfigResolver

ZONE = "example.com"
KEY = "compat-vultr-key"


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


def dig(dns, name, rtype):
    """The answer section's data for name/rtype from the mock's DNS, or None without dig."""
    if shutil.which("dig") is None:
        return None
    host, port = dns.rsplit(":", 1)
    out = subprocess.run(["dig", f"@{host}", "-p", port, name, rtype, "+short", "+tries=1", "+time=2"],
                         capture_output=True, text=True, timeout=10)
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    # Other zones first, so that lexicon has to follow a cursor to find ours.
    domains = [f"zone{i:03}.test" for i in range(120)] + [ZONE]
    mock = subprocess.Popen(
        [sys.argv[1], "--listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0",
         "--api-key", KEY, "--rate-limit", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "VULTR_MOCK_DOMAINS": ",".join(domains)},
    )
    checks = Checks()
    try:
        first = mock.stdout.readline()
        try:
            started = json.loads(first)
            api, dns = started["api"], started["dns"]
        except (ValueError, KeyError):
            sys.exit(f"compat: vultr-mock did not print its start-up line (got {first!r})")
        run(api, dns, checks)
    finally:
        mock.terminate()
        mock.wait(timeout=10)
    print(f"compat: {checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


def run(api, dns, checks):
    # lexicon warns that update_record by name only touches the first of a set: that is the point.
    logging.getLogger("lexicon").setLevel(logging.ERROR)
    config = ConfigResolver().with_dict(
        {"provider_name": "vultr", "domain": ZONE, "vultr": {"auth_token": KEY}})
    provider = Provider(config)
    provider.api_endpoint = f"{api}/v2"
    print(f"dns-lexicon's Vultr provider against vultr-mock at {api}")

    try:
        provider.authenticate()
        checks.check("authenticate pages through the domains with cursors and finds the zone",
                     provider.domain_id == ZONE, provider.domain_id)
    except Exception as e:  # lexicon raises plain exceptions and requests.HTTPError
        checks.check("authenticate pages through the domains with cursors and finds the zone", False, e)
        return

    for ip in ("192.0.2.10", "192.0.2.11"):
        provider.create_record("A", "origin", ip)
    provider.create_record("TXT", "_owner.origin", "heritage=compat,owner=lexicon")
    records = provider.list_records("A", "origin")
    checks.check("two A records at one name make a round-robin set",
                 sorted(r["content"] for r in records) == ["192.0.2.10", "192.0.2.11"], records)
    txt = provider.list_records("TXT", "_owner.origin")
    checks.check("TXT is quoted on write and comes back unquoted",
                 [r["content"] for r in txt] == ["heritage=compat,owner=lexicon"], txt)
    checks.check("creating the same record again is a no-op for lexicon",
                 provider.create_record("A", "origin", "192.0.2.10")
                 and len(provider.list_records("A", "origin")) == 2)

    answer = dig(dns, f"origin.{ZONE}", "A")
    if answer is not None:
        checks.check("DNS answers the round-robin set", answer == ["192.0.2.10", "192.0.2.11"], answer)

    provider.update_record(None, "A", "origin", "192.0.2.12")
    after = sorted(r["content"] for r in provider.list_records("A", "origin"))
    checks.check("update (PATCH of data) changes one record of the set",
                 len(after) == 2 and "192.0.2.12" in after, after)

    provider.delete_record(None, "A", "origin", None)
    provider.delete_record(None, "TXT", "_owner.origin", None)
    checks.check("delete removes every record of the name",
                 provider.list_records("A", "origin") == []
                 and provider.list_records("TXT", "_owner.origin") == [])
    answer = dig(dns, f"origin.{ZONE}", "A")
    if answer is not None:
        checks.check("DNS answers nothing after the delete", answer == [], answer)


if __name__ == "__main__":
    main()
