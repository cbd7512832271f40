"""The benchmark's fake APIs, in their own process: `python -m benchmarks.fakes SCALE FOLDER`.

Prints the environment that points the pipeline at them as one JSON line, then answers commands
on stdin: `rows_per_user` (entries served per Clockify user, for the per-user request minimum),
`toggl` (Toggl's requests and the 402s it sent), `crm` (the CRM fakes' requests per path, and
the distinct contacts behind HubSpot's live feedback submissions, for their minimum) and
`change FRACTION` (that share of the CRM's
accounts and deals edited, for the incremental run). Ends when stdin closes.

Toggl enforces Premium's quota, 600 requests an hour, with the hour scaled down to
`TOGGL_QUOTA_WINDOW` seconds: the pull must pace itself from the quota headers and draw no 402.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from benchmarks.company import LazyClockify, LazyToggl, Scale, large_company
from sandbox.servers import FakeHubSpot, FakeSalesforce

TOGGL_QUOTA, TOGGL_QUOTA_WINDOW = 600, 3.0  # Premium's 600 an hour, the hour made 3 s


def main(scale_text: str, folder: str) -> int:
    scale = Scale(float(scale_text))
    company = large_company(scale)
    salesforce, hubspot = FakeSalesforce(company), FakeHubSpot(company)
    clockify = LazyClockify(company, scale)
    toggl = LazyToggl(company, scale, TOGGL_QUOTA, TOGGL_QUOTA_WINDOW)
    served: dict[str, int] = {}
    window = clockify._window

    def counting(uid, start, end):  # the largest window a user was read for
        rows = window(uid, start, end)
        served[uid] = max(served.get(uid, 0), len(rows))
        return rows

    clockify._window = counting  # type: ignore[method-assign]
    for server in (salesforce, hubspot, clockify, toggl):
        server.start()
    ca = salesforce.write_ca_bundle(str(Path(folder) / "bench-ca.pem"))
    print(json.dumps({
        "SALESFORCE_INSTANCE_URL": salesforce.base_url,
        "SALESFORCE_ACCESS_TOKEN": salesforce.access_token,
        "HUBSPOT_ACCESS_TOKEN": hubspot.access_token, "HUBSPOT_BASE_URL": hubspot.base_url,
        "CLOCKIFY_API_KEY": clockify.api_key, "CLOCKIFY_WORKSPACE_ID": clockify.workspace_id,
        "CLOCKIFY_BASE_URL": f"{clockify.base_url}/api/v1",
        "TOGGL_API_TOKEN": toggl.api_token, "TOGGL_WORKSPACE_ID": str(toggl.workspace_id),
        "TOGGL_BASE_URL": toggl.base_url, "TOGGL_MIN_REQUEST_INTERVAL": "0",
        "REQUESTS_CA_BUNDLE": ca}),
        flush=True)
    rng = random.Random(5)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "rows_per_user":
            print(json.dumps(served), flush=True)
        elif command == "crm":
            contacts = {r["properties"].get("hs_contact_id")
                        for r in hubspot.feedback_submissions if not r["archived"]}
            print(json.dumps({"feedback_contacts": len(contacts - {None}),
                              "hubspot_requests": dict(hubspot.requests),
                              "salesforce_requests": dict(salesforce.requests)}), flush=True)
        elif command == "toggl":
            print(json.dumps({"requests": toggl.request_count,
                              "quota_refusals": toggl.quota_refusals,
                              "quota": f"{TOGGL_QUOTA} per {TOGGL_QUOTA_WINDOW:g} s"}),
                  flush=True)
        elif command == "change":
            share = float(args[0])
            changed = {}
            for sobject in ("Account", "Opportunity"):
                records = salesforce.objects[sobject]
                picked = rng.sample(records, max(1, round(len(records) * share)))
                for record in picked:
                    salesforce.update(sobject, record["Id"], Name=record["Name"] + " (edited)")
                changed[f"salesforce {sobject}"] = len(picked)
            for kind, records in (("companies", hubspot.companies), ("deals", hubspot.deals)):
                picked = rng.sample(records, max(1, round(len(records) * share)))
                for record in picked:
                    name = "name" if kind == "companies" else "dealname"
                    hubspot.update(kind, record["id"],
                                   **{name: (record["properties"].get(name) or "") + " (edited)"})
                changed[f"hubspot {kind}"] = len(picked)
            print(json.dumps(changed), flush=True)
    for server in (salesforce, hubspot, clockify, toggl):
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
