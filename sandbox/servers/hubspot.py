"""Fake HubSpot CRM v3: owners, companies, deals with company associations, deal pipelines,
engagements (calls, meetings, emails), feedback submissions and contacts' companies.

Every property value is a string (or null), as HubSpot sends it, and only the properties asked
for are sent. Lists page with an opaque `after` cursor and at most 100 results (50 when
`propertiesWithHistory` is asked for), and the last page carries no `paging`; archived records
are listed only with `archived=true`. Search (POST) filters, sorts and pages up to 200 results,
and refuses to page past 10,000 results of one query, as HubSpot does. Batch read returns
records by id, property history included.

The v4 batch associations read (`/crm/v4/associations/{from}/companies/batch/read`) answers
`results[].from.id` and `results[].to[].toObjectId` with each link's `associationTypes`, at most
`association_page_size` links an input (then a per-input `paging.next.after`), refuses more than
1,000 inputs (400) and reports inputs with no links as errors of a 207 answer. To-dos are HubSpot
tasks, not served. With `redact_email_metadata`, e-mails come without their metadata (direction,
subject, thread), as a private app without the `sales-email-read` scope sees them
(docs/connectors.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.company import Company, Deal, vendor_id
from sandbox.servers.base import FakeServer, HttpError, Request, Response, iso_z, page_slice

PIPELINES = [
    {"id": "default", "label": "Sales Pipeline", "displayOrder": 0, "archived": False,
     "stages": [
         {"id": "appointmentscheduled", "label": "Appointment Scheduled", "displayOrder": 0,
          "metadata": {"isClosed": "false", "probability": "0.2"}, "archived": False},
         {"id": "closedwon", "label": "Closed Won", "displayOrder": 1,
          "metadata": {"isClosed": "true", "probability": "1.0"}, "archived": False},
         {"id": "closedlost", "label": "Closed Lost", "displayOrder": 2,
          "metadata": {"isClosed": "true", "probability": "0.0"}, "archived": False},
     ]},
    # A renewals pipeline whose won stage is not called `closedwon`: its metadata says so.
    {"id": "renewals", "label": "Renewals", "displayOrder": 1, "archived": False,
     "stages": [
         {"id": "1043512", "label": "Renewal signed", "displayOrder": 0,
          "metadata": {"isClosed": "true", "probability": "1.0"}, "archived": False},
         {"id": "1043513", "label": "Renewal lost", "displayOrder": 1,
          "metadata": {"isClosed": "true", "probability": "0.0"}, "archived": False},
         {"id": "1043514", "label": "Renewal open", "displayOrder": 2,
          "metadata": {"isClosed": "false", "probability": "0.5"}, "archived": False},
     ]},
]
MODIFIED = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
ENGAGEMENTS = {"call": "calls", "meeting": "meetings", "email": "emails"}
OBJECT_TYPES = "companies|deals|calls|meetings|emails|feedback_submissions"
# The e-mail properties HubSpot withholds without the sales-email-read scope: whether the
# direction is among them is unconfirmed (docs/connectors.md), so the fake takes the worst case.
REDACTED_EMAIL = ("hs_email_direction", "hs_email_subject", "hs_email_text", "hs_email_html",
                  "hs_email_thread_id", "hs_email_headers")
ASSOCIATION_INPUTS_MAX = 1_000
# When a record was first written and last modified, as the fake serves them.
INSTANT_PROPERTIES = frozenset({"hs_lastmodifieddate", "createdate", "closedate", "hs_timestamp",
                                "hs_createdate", "hs_meeting_start_time",
                                "hs_submission_timestamp"})


class FakeHubSpot(FakeServer):
    name = "hubspot"

    def __init__(self, company: Company, access_token: str = "sandbox-hs-token",
                 association_page_size: int = 500, redact_email_metadata: bool = False) -> None:
        super().__init__()
        self.access_token = access_token
        self.association_page_size = association_page_size  # links per input and page
        self.redact_email_metadata = redact_email_metadata
        self.owners, self.companies, self.deals = render(company)
        self.calls, self.meetings, self.emails = render_engagements(company)
        self.feedback_submissions = render_feedback(company)
        self.contacts = render_contacts(company)
        # Each listed list's id -> position map, for `after` cursors (`_position`).
        self._positions: dict[int, tuple[list[dict[str, Any]], dict[str, int]]] = {}
        self.route("GET", "/crm/v3/owners/?", self.list_owners)
        self.route("GET", f"/crm/v3/objects/(?P<object_type>{OBJECT_TYPES})", self.list_objects)
        self.route("GET", "/crm/v3/pipelines/(?P<object_type>deals)", self.list_pipelines)
        self.route("POST", f"/crm/v3/objects/(?P<object_type>{OBJECT_TYPES})/search",
                   self.search)
        self.route("POST", f"/crm/v3/objects/(?P<object_type>{OBJECT_TYPES})/batch/read",
                   self.batch_read)
        self.route("POST", "/crm/v4/associations/(?P<from_type>deals|calls|meetings|emails|"
                   "feedback_submissions|contacts)/(?P<to_type>companies)/batch/read",
                   self.batch_associations)

    def _records(self, object_type: str) -> list[dict[str, Any]]:
        return {"companies": self.companies, "deals": self.deals, "calls": self.calls,
                "meetings": self.meetings, "emails": self.emails,
                "feedback_submissions": self.feedback_submissions,
                "contacts": self.contacts}[object_type]

    def _properties(self, object_type: str, record: dict[str, Any],
                    wanted: list[str]) -> dict[str, Any]:
        """The properties asked for (null when the record has no value), less those a
        redacted e-mail withholds: those are not sent at all."""
        props = record["properties"]
        hidden = REDACTED_EMAIL if object_type == "emails" and self.redact_email_metadata else ()
        return {k: props.get(k) for k in (wanted or list(props)) if k not in hidden}

    def update(self, object_type: str, record_id: str, **properties: str | None
               ) -> dict[str, Any]:
        """A user edits a record: its properties change and it is modified now."""
        record = next(r for r in self._records(object_type) if r["id"] == record_id)
        now = iso_z(datetime.now(UTC))
        for name, value in properties.items():
            record["properties"][name] = value
            record["_history"].setdefault(name, []).insert(
                0, {"value": value or "", "timestamp": now, "sourceType": "CRM_UI"})
        record["properties"]["hs_lastmodifieddate"] = now
        record["updatedAt"] = now
        return record

    def add_companies(self, count: int, modified: datetime, first_id: int = 90_000_000) -> None:
        """Many bare companies modified at one instant (to exercise search windows)."""
        stamp = iso_z(modified)
        for n in range(count):
            self.companies.append({
                "id": str(first_id + n), "archived": False, "createdAt": stamp,
                "updatedAt": stamp, "_history": {},
                "properties": {"name": f"Bulk company {n}", "hubspot_owner_id": None,
                               "hs_lastmodifieddate": stamp, "createdate": stamp}})

    def search(self, request: Request, object_type: str) -> Response:
        body = request.json()
        groups = body.get("filterGroups") or []
        records = [r for r in self._records(object_type) if not r["archived"]
                   and (not groups or any(all(_matches(r, f) for f in g.get("filters", []))
                                          for g in groups))]
        for sort in reversed(body.get("sorts") or []):
            name = sort["propertyName"] if isinstance(sort, dict) else str(sort)
            descending = isinstance(sort, dict) and sort.get("direction") == "DESCENDING"
            records.sort(key=lambda r, n=name: _value(r, n), reverse=descending)
        limit = min(int(body.get("limit") or 10), 200)
        offset = int(body.get("after") or 0)
        if offset + limit > 10_000:
            raise HttpError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                  "message": "Search results are limited to 10,000: narrow the "
                                  "query"})
        wanted = body.get("properties") or []
        page = [{"id": r["id"], "properties": {**self._properties(object_type, r, wanted),
                                               "hs_object_id": r["id"],
                                               "hs_lastmodifieddate":
                                                   r["properties"]["hs_lastmodifieddate"]},
                 "createdAt": r["createdAt"], "updatedAt": r["updatedAt"], "archived": False}
                for r in records[offset : offset + limit]]
        result: dict[str, Any] = {"total": len(records), "results": page}
        if offset + limit < len(records):
            result["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, result)

    def batch_read(self, request: Request, object_type: str) -> Response:
        body = request.json()
        archived = (request.arg("archived") or "false").lower() == "true"
        ids = [item["id"] for item in body.get("inputs", [])]
        if len(ids) > 100:
            raise HttpError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                  "message": "at most 100 inputs"})
        by_id = {r["id"]: r for r in self._records(object_type) if r["archived"] == archived}
        wanted = body.get("properties") or []
        history = body.get("propertiesWithHistory") or []
        results = []
        for record_id in ids:
            if record_id not in by_id:
                continue
            record = by_id[record_id]
            out = {k: v for k, v in record.items()
                   if k not in ("properties", "_history", "associations", "_links")}
            out["properties"] = self._properties(object_type, record, wanted)
            out["properties"]["hs_object_id"] = record_id
            if history:
                out["propertiesWithHistory"] = {n: record["_history"].get(n, []) for n in history}
            results.append(out)
        return Response(200, {"status": "COMPLETE", "results": results})

    def batch_associations(self, request: Request, from_type: str, to_type: str) -> Response:
        """v4 batch associations: each input's companies with their association types, a page
        of `association_page_size` at most (the input's `after` goes on); inputs with none are
        errors of a 207 answer, as HubSpot reports them."""
        inputs = request.json().get("inputs", [])
        if len(inputs) > ASSOCIATION_INPUTS_MAX:
            raise HttpError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                  "message": f"Batch input size {len(inputs)} exceeds the "
                                  f"maximum of {ASSOCIATION_INPUTS_MAX}"})
        by_id = {r["id"]: r for r in self._records(from_type)}
        results, errors = [], []
        for item in inputs:
            record_id = str(item["id"])
            record = by_id.get(record_id)
            links = _links(record, to_type) if record is not None else []
            if not links:
                errors.append({"status": "error", "category": "VALIDATION_ERROR",
                               "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                               "message": f"No {to_type[:-1]} is associated with "
                               f"{from_type[:-1]} {record_id}.",
                               "context": {"fromObjectId": [record_id]}})
                continue
            offset = int(item.get("after") or 0)
            chunk, following = page_slice(links, offset, self.association_page_size)
            result: dict[str, Any] = {"from": {"id": record_id}, "to": [
                {"toObjectId": int(other), "associationTypes": types} for other, types in chunk]}
            if following is not None:
                result["paging"] = {"next": {"after": str(following), "link": None}}
            results.append(result)
        body: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            body |= {"numErrors": len(errors), "errors": errors}
        return Response(207 if errors else 200, body)

    def archive(self, object_type: str, record_id: str) -> dict[str, Any]:
        """Deleting in HubSpot archives: the record moves to the `archived=true` listing."""
        record = next(r for r in self._records(object_type) if r["id"] == record_id)
        now = iso_z(datetime.now(UTC))
        record.update(archived=True, archivedAt=now, updatedAt=now)
        return record

    def authenticate(self, request: Request) -> None:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            raise HttpError(401, {
                "status": "error", "category": "INVALID_AUTHENTICATION",
                "correlationId": "00000000-0000-0000-0000-000000000000",
                "message": "Authentication credentials not found."})

    def list_owners(self, request: Request) -> Response:
        """Active owners by default; archived ones (people who left) only with
        `archived=true`, and then only those, as HubSpot lists them."""
        archived = (request.arg("archived") or "false").lower() == "true"
        return self._page(request, [o for o in self.owners if o["archived"] == archived],
                          limit_max=500)

    def list_objects(self, request: Request, object_type: str) -> Response:
        archived = (request.arg("archived") or "false").lower() == "true"
        with_history = request.args("propertiesWithHistory")
        wanted = request.args("properties")
        with_companies = "companies" in request.args("associations")

        def shaped(record: dict[str, Any]) -> dict[str, Any]:
            out = {k: v for k, v in record.items()
                   if k not in ("properties", "_history", "_links")}
            out["properties"] = self._properties(object_type, record, wanted)
            out["properties"]["hs_object_id"] = record["id"]
            if with_history:
                out["propertiesWithHistory"] = {
                    name: record["_history"].get(name, []) for name in with_history}
            if not with_companies:
                out.pop("associations", None)
            return out

        # Only the page served is gathered and shaped: the whole list per page is quadratic.
        return self._page(request, self._records(object_type),
                          limit_max=50 if with_history else 100,
                          keep=lambda record: record["archived"] == archived, shape=shaped)

    def list_pipelines(self, request: Request, object_type: str) -> Response:
        return Response(200, {"results": PIPELINES})

    def _page(self, request: Request, items: list[dict[str, Any]], limit_max: int,
              keep: Callable[[dict[str, Any]], bool] = lambda _: True,
              shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda item: item
              ) -> Response:
        """The page of the `items` kept that starts at the `after` cursor (the id of its first
        item), shaped; the next page's cursor is the id of the next item kept."""
        limit = min(int(request.arg("limit") or 10), limit_max)
        after = request.arg("after")
        start = 0
        if after:
            found = self._position(items, after)
            if found is None or not keep(items[found]):
                raise HttpError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                      "message": f"invalid after cursor {after}"})
            start = found
        chunk: list[dict[str, Any]] = []
        cursor = None
        for n in range(start, len(items)):
            if keep(items[n]):
                if len(chunk) == limit:
                    cursor = items[n]["id"]
                    break
                chunk.append(items[n])
        body: dict[str, Any] = {"results": [shape(item) for item in chunk]}
        if cursor is not None:
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return Response(200, body)

    def _position(self, items: list[dict[str, Any]], record_id: str) -> int | None:
        """Where the item of `record_id` is in `items`, from a map kept per list (checked at
        each use, rebuilt when the list changed under it); None when it is not there."""
        kept = self._positions.get(id(items))
        at = kept[1].get(record_id) if kept and kept[0] is items else None
        if at is None or at >= len(items) or items[at]["id"] != record_id:
            index: dict[str, int] = {}
            for n, item in enumerate(items):
                index.setdefault(item["id"], n)
            self._positions[id(items)] = (items, index)
            at = index.get(record_id)
        return at


def render(company: Company) -> tuple[list[dict], list[dict], list[dict]]:
    """The company as HubSpot owners, companies and deals."""
    created = iso_z(datetime(2023, 1, 1, tzinfo=UTC))
    owners = []
    for person in company.crm_people("hubspot"):
        first, _, last = person.name.partition(" ")
        owner = {
            "id": vendor_id("hs_owner", person.key), "email": person.email, "type": "PERSON",
            "firstName": first, "lastName": last,
            "userId": int(vendor_id("hs_user", person.key)), "createdAt": created,
            "updatedAt": created, "archived": False, "teams": []}
        if person.left_at is not None:  # a leaver's owner is archived, same id and e-mail
            owner |= {"archived": True, "updatedAt": iso_z(person.left_at)}
        owners.append(owner)
    companies = []
    for account in company.accounts_in("hubspot"):
        owner = account.owners[-1][1]
        # Newest first. A property set at creation has that value as its first entry; one
        # created empty has no entry until it is first set (a later clearing is an entry "").
        history = [{"value": vendor_id("hs_owner", key) if key else "",
                    "timestamp": iso_z(at), "sourceType": "CRM_UI", "sourceId": "userId:1"}
                   for n, (at, key) in reversed(list(enumerate(account.owners)))
                   if key is not None or n > 0]
        companies.append({
            "id": account.crm_id,
            "properties": {
                "name": account.name, "domain": account.name.lower().replace(" ", "") + ".com",
                "hubspot_owner_id": vendor_id("hs_owner", owner) if owner else None,
                "industry": account.industry.upper(), "createdate": iso_z(account.created_at),
                # A date property (the demo's value milestone), as HubSpot sends dates.
                "go_live_date": (account.value_milestone.isoformat()
                                 if account.value_milestone else None),
                # Last modified when it was created or last changed hands.
                "hs_lastmodifieddate": iso_z(max(at for at, _ in account.owners))},
            "_history": {"hubspot_owner_id": history},
            "createdAt": iso_z(account.created_at),
            "updatedAt": iso_z(max(at for at, _ in account.owners)), "archived": False})
    crm_ids = _crm_ids(company)
    deals = [_deal(crm_ids, deal, n) for n, deal in enumerate(company.deals_in("hubspot"))]
    return owners, companies, deals


def _crm_ids(company: Company) -> dict[str, str]:
    """Each account's CRM id by its key: one map a render (a scan per lookup is quadratic)."""
    return {a.key: a.crm_id for a in company.accounts}


def _deal(crm_ids: Mapping[str, str], deal: Deal, n: int) -> dict[str, Any]:
    account_id = crm_ids[deal.account_key]
    renewal = deal.deal_type == "Renewal" and n % 2 == 0
    pipeline = "renewals" if renewal else deal.pipeline
    if deal.stage is not None:
        stage = deal.stage
    elif renewal:
        stage = "1043512" if deal.won else "1043513" if deal.closed else "1043514"
    else:
        stage = "closedwon" if deal.won else "closedlost" if deal.closed else "appointmentscheduled"
    closed_at = (datetime.combine(deal.close_date, datetime.min.time(), tzinfo=UTC)
                 if deal.close_date else MODIFIED)
    close = iso_z(closed_at) if deal.close_date else None
    modified = iso_z(closed_at + timedelta(hours=1, seconds=n))  # last touched after closing
    created_at = deal.created_at or (closed_at - timedelta(days=30) if deal.close_date else None)
    created = iso_z(created_at) if created_at else None
    props = {
        "dealname": deal.name, "amount": None if deal.amount is None else f"{deal.amount:.2f}",
        "closedate": close, "dealstage": stage, "pipeline": pipeline,
        "dealtype": "newbusiness" if deal.deal_type == "New Business" else "existingbusiness",
        "hubspot_owner_id": None, "createdate": created, "hs_lastmodifieddate": modified,
        "deal_currency_code": deal.currency or "USD",
        "closed_lost_reason": deal.loss_reason,
        # The demo's source property (settings' hubspot_source_property).
        "deal_source": deal.lead_source,
        # A HubSpot *user* id (the owners' `userId`), not an owner id.
        "hs_created_by_user_id": vendor_id("hs_user", deal.created_by) if deal.created_by
        else None,
        "contract_term_months": None if deal.term_months is None else str(deal.term_months),
        "contract_start_date": deal.service_start.isoformat() if deal.service_start else None,
    }
    deal_id = vendor_id("hs_deal", deal.key)
    associations = {"companies": {"results": [
        {"id": account_id, "type": "deal_to_company"},
        {"id": account_id, "type": "deal_to_company_unlabeled"}]}}
    links = [(account_id, [_PRIMARY_DEAL, _UNLABELED])]
    return {"id": deal_id, "properties": props, "_history": {}, "createdAt": created or "",
            "updatedAt": modified, "archived": False, "associations": associations,
            "_links": {"companies": links}}


_PRIMARY_DEAL = {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"}
_UNLABELED = {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}
# contact to company: 1 is the primary company, 279 any other (HubSpot's defined types).
_PRIMARY_CONTACT = {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}
_UNLABELED_CONTACT = {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}


def _links(record: dict[str, Any], to_type: str) -> list[tuple[str, list[dict[str, Any]]]]:
    return record.get("_links", {}).get(to_type, [])


def _company_links(crm_ids: Mapping[str, str], account_keys: tuple[str, ...] | list[str],
                   primary: dict[str, Any] | None = None,
                   other: dict[str, Any] = _UNLABELED) -> list[tuple[str, list[dict]]]:
    """Each company once (v4 lists a linked object once, with all its association types); the
    first is the primary one when a primary type is given."""
    ids = [crm_ids[key] for key in dict.fromkeys(account_keys)]
    return [(crm_id, [primary, other] if primary and n == 0 else [other])
            for n, crm_id in enumerate(ids)]


def _written(at: datetime | None, now: datetime) -> str:
    """When the fake says a record was last modified: an hour after it happened, or when it
    was written down (rendered) for what is still to come."""
    return iso_z(min(at + timedelta(hours=1), now) if at else MODIFIED)


def render_engagements(company: Company) -> tuple[list[dict], list[dict], list[dict]]:
    """The company's HubSpot calls, meetings and emails (to-dos are tasks: not served)."""
    now = datetime.now(UTC).replace(microsecond=0)
    rendered: dict[str, list[dict]] = {kind: [] for kind in ENGAGEMENTS.values()}
    crm_ids = _crm_ids(company)
    for activity in company.activities_in("hubspot"):
        if activity.kind not in ENGAGEMENTS:
            continue
        at = iso_z(activity.at) if activity.at else None
        props: dict[str, Any] = {
            "hs_timestamp": at,
            "hubspot_owner_id": vendor_id("hs_owner", activity.person_key)
            if activity.person_key else None,
            "hs_createdate": at or iso_z(MODIFIED),
            "hs_lastmodifieddate": _written(activity.at, now)}
        if activity.kind == "call":
            props |= {"hs_call_status": activity.status.upper(),
                      "hs_call_direction": "INBOUND" if activity.direction == "inbound"
                      else "OUTBOUND",
                      "hs_call_duration": "600000", "hs_call_title": activity.subject or None}
        elif activity.kind == "meeting":
            end = activity.at + timedelta(minutes=30) if activity.at else None
            props |= {"hs_meeting_outcome": activity.status.upper(),
                      "hs_meeting_start_time": at,
                      "hs_meeting_end_time": iso_z(end) if end else None,
                      "hs_meeting_title": activity.subject or None}
        else:
            props |= {"hs_email_direction": {"inbound": "INCOMING_EMAIL",
                                             "forwarded": "FORWARDED_EMAIL"}.get(
                                                 activity.direction, "EMAIL"),
                      "hs_email_subject": activity.subject or None,
                      "hs_email_thread_id": vendor_id("hs_thread", activity.key)}
        record = {"id": vendor_id(f"hs_{activity.kind}", activity.key), "properties": props,
                  "_history": {}, "createdAt": props["hs_createdate"],
                  "updatedAt": props["hs_lastmodifieddate"], "archived": activity.deleted,
                  "_links": {"companies": _company_links(crm_ids, activity.account_keys)}}
        if activity.deleted:
            record["archivedAt"] = props["hs_lastmodifieddate"]
        rendered[ENGAGEMENTS[activity.kind]].append(record)
    return rendered["calls"], rendered["meetings"], rendered["emails"]


def _score(value: float | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return f"{value:g}"


def render_feedback(company: Company) -> list[dict]:
    """The company's HubSpot feedback submissions: linked to a company directly, or only
    through the contact who submitted them (`hs_contact_id`)."""
    submissions = []
    crm_ids = _crm_ids(company)
    for feedback in company.feedback_in("hubspot"):
        at = iso_z(feedback.at)
        submissions.append({
            "id": vendor_id("hs_feedback", feedback.key),
            "properties": {
                "hs_survey_type": feedback.survey_type, "hs_value": _score(feedback.score),
                "hs_submission_timestamp": at, "hs_createdate": at,
                "hs_contact_id": vendor_id("hs_contact", feedback.contact_key)
                if feedback.contact_key else None,
                "hs_lastmodifieddate": at},
            "_history": {}, "createdAt": at, "updatedAt": at, "archived": False,
            "_links": {"companies": _company_links(
                crm_ids, (feedback.account_key,) if feedback.account_key else ())}})
    return submissions


def render_contacts(company: Company) -> list[dict]:
    """Contacts only as far as their companies go (the primary first)."""
    crm_ids = _crm_ids(company)
    return [{"id": vendor_id("hs_contact", contact.key),
             "properties": {"email": contact.email}, "archived": False,
             "_links": {"companies": _company_links(crm_ids, contact.account_keys,
                                                    _PRIMARY_CONTACT, _UNLABELED_CONTACT)}}
            for contact in company.contacts]


def _value(record: dict[str, Any], name: str) -> Any:
    if name == "hs_object_id":
        return int(record["id"])
    value = record["properties"].get(name)
    if name in INSTANT_PROPERTIES and value:
        if value.isdigit():
            return int(value)
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return value


def _matches(record: dict[str, Any], condition: dict[str, Any]) -> bool:
    actual = _value(record, condition["propertyName"])
    raw = condition.get("value")
    expected: Any = raw
    if isinstance(actual, int) and raw is not None:
        text = str(raw)
        expected = int(text) if text.lstrip("-").isdigit() else int(
            datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
    operator = condition["operator"]
    if actual is None:
        return operator == "NOT_HAS_PROPERTY"
    return {"EQ": actual == expected, "NEQ": actual != expected, "GT": actual > expected,
            "GTE": actual >= expected, "LT": actual < expected, "LTE": actual <= expected,
            "HAS_PROPERTY": True}.get(operator, False)
