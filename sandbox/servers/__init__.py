"""The four fake vendor APIs, started together for the demo and the tests."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from sandbox.company import Company
from sandbox.servers.clockify import FakeClockify
from sandbox.servers.hubspot import FakeHubSpot
from sandbox.servers.salesforce import FakeSalesforce
from sandbox.servers.toggl import FakeToggl

__all__ = ["CUSTOM_FIELD_SETTINGS", "FakeClockify", "FakeHubSpot", "FakeSalesforce",
           "FakeToggl", "Sandbox"]

# The settings that name the custom fields the fakes serve (a deal's source, loss reason, an
# account's go-live date, the Salesforce survey object), as a user of these CRMs would write
# them; the tests and the benchmark add them to their settings (sandbox/settings.toml does too).
CUSTOM_FIELD_SETTINGS = """
hubspot_source_property = "deal_source"
salesforce_loss_reason_field = "Loss_Reason__c"
salesforce_value_milestone_field = "Go_Live_Date__c"
hubspot_value_milestone_property = "go_live_date"
salesforce_feedback_object = "NPS_Response__c"
salesforce_feedback_account_field = "Account__c"
salesforce_feedback_score_field = "Score__c"
salesforce_feedback_type_field = "Survey_Type__c"
salesforce_feedback_date_field = "Response_Date__c"
"""


@dataclass
class Sandbox:
    """All four fakes serving one company, and the environment that points the pipeline at them."""

    company: Company
    salesforce_batch_size: int = 2000
    salesforce: FakeSalesforce = field(init=False)
    hubspot: FakeHubSpot = field(init=False)
    toggl: FakeToggl = field(init=False)
    clockify: FakeClockify = field(init=False)
    ca_bundle: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.salesforce = FakeSalesforce(self.company, batch_size=self.salesforce_batch_size)
        self.hubspot = FakeHubSpot(self.company)
        self.toggl = FakeToggl(self.company)
        self.clockify = FakeClockify(self.company)

    @property
    def servers(self) -> list:
        return [self.salesforce, self.hubspot, self.toggl, self.clockify]

    def start(self, ca_dir: str | None = None) -> Sandbox:
        for server in self.servers:
            server.start()
        folder = ca_dir or tempfile.mkdtemp(prefix="csm-sandbox-")
        self.ca_bundle = self.salesforce.write_ca_bundle(os.path.join(folder, "sandbox-ca.pem"))
        return self

    def clear_faults(self) -> None:
        for server in self.servers:
            server.clear_faults()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The variables the README lists, as a user would set them for real accounts."""
        return {
            "SALESFORCE_INSTANCE_URL": self.salesforce.base_url,
            "SALESFORCE_ACCESS_TOKEN": self.salesforce.access_token,
            "HUBSPOT_ACCESS_TOKEN": self.hubspot.access_token,
            "HUBSPOT_BASE_URL": self.hubspot.base_url,
            "TOGGL_API_TOKEN": self.toggl.api_token,
            "TOGGL_WORKSPACE_ID": str(self.toggl.workspace_id),
            "TOGGL_BASE_URL": self.toggl.base_url,
            # The fakes do not throttle, so the demo need not pace itself like real Toggl.
            "TOGGL_MIN_REQUEST_INTERVAL": "0",
            "CLOCKIFY_API_KEY": self.clockify.api_key,
            "CLOCKIFY_WORKSPACE_ID": self.clockify.workspace_id,
            "CLOCKIFY_BASE_URL": f"{self.clockify.base_url}/api/v1",
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
        }
