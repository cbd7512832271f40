"""HubSpot objects csm-metrics reads, as data.

Companies, deals, engagements (calls, meetings, emails) and feedback submissions are
incremental on `hs_lastmodifieddate` and merged on id. Engagements and feedback get their
companies from the v4 batch associations endpoint (`linked`), attached to each landed record
under `associations.<type>` as the v3 list endpoint shapes them; feedback also gets its
contact's companies (`contact_property` names the contact), under
`associations.contact_companies`, each marked `primary` or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.streams import Stream

MODIFIED = "hs_lastmodifieddate"


@dataclass(frozen=True)
class HubSpotStream(Stream):
    object_type: str = ""
    properties: tuple[str, ...] = ()
    properties_with_history: tuple[str, ...] = ()
    # Associations asked of the v3 list endpoint (`?associations=`), read through v4 batch
    # reads for a search's pages.
    associations: tuple[str, ...] = ()
    # Associations read only through v4 batch reads, for every page (the v3 list's are capped).
    linked: tuple[str, ...] = ()
    # The property naming a record's contact, whose companies are read too (v4, contacts to
    # companies), the primary first.
    contact_property: str | None = None
    # The client's API lives under `crm.objects.<type>` (engagements, feedback) rather than
    # `crm.<type>`.
    generic_object: bool = False
    # An incremental pull also re-reads records whose this instant property passed since the
    # last pull: a meeting that had not started then may have happened since, unmodified.
    reread_after: str | None = None


def _engagement(name: str, *properties: str, reread_after: str | None = None
                ) -> HubSpotStream:
    return HubSpotStream("hubspot", name, "id", f"properties.{MODIFIED}", write_mode="merge",
                         object_type=name, generic_object=True,
                         properties=("hs_timestamp", "hubspot_owner_id", *properties,
                                     "hs_createdate", MODIFIED),
                         linked=("companies",), reread_after=reread_after)


STREAMS: dict[str, HubSpotStream] = {
    s.name: s
    for s in (
        HubSpotStream("hubspot", "owners", "id", "updatedAt", object_type="owners"),
        HubSpotStream("hubspot", "companies", "id", f"properties.{MODIFIED}",
                      write_mode="merge", snapshots_ownership=True, object_type="companies",
                      properties=("name", "domain", "hubspot_owner_id", "industry",
                                  "createdate", MODIFIED),
                      properties_with_history=("hubspot_owner_id",)),
        HubSpotStream("hubspot", "deals", "id", f"properties.{MODIFIED}",
                      write_mode="merge", object_type="deals",
                      properties=("dealname", "amount", "closedate", "dealstage", "pipeline",
                                  "dealtype", "hubspot_owner_id", "createdate",
                                  MODIFIED, "deal_currency_code", "closed_lost_reason",
                                  "hs_created_by_user_id"),
                      associations=("companies",)),
        HubSpotStream("hubspot", "deal_pipelines", "id", object_type="pipelines"),
        # Engagements (docs/metrics.md, touchpoints): to-dos are HubSpot tasks, not read.
        _engagement("calls", "hs_call_status", "hs_call_direction", "hs_call_duration"),
        _engagement("meetings", "hs_meeting_outcome", "hs_meeting_start_time",
                    "hs_meeting_end_time", reread_after="hs_timestamp"),
        # Without the sales-email-read scope HubSpot redacts e-mail metadata: the direction
        # may be missing, and staging tolerates that.
        _engagement("emails", "hs_email_direction", "hs_email_thread_id"),
        HubSpotStream("hubspot", "feedback_submissions", "id", f"properties.{MODIFIED}",
                      write_mode="merge", object_type="feedback_submissions",
                      generic_object=True,
                      properties=("hs_survey_type", "hs_value", "hs_response_group",
                                  "hs_submission_timestamp", "hs_contact_id", "hs_createdate",
                                  MODIFIED),
                      linked=("companies",), contact_property="hs_contact_id"),
    )
}
