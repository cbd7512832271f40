"""Fake HubSpot CRM v3: owners, companies, deals with company associations, deal pipelines.

Every property value is a string (or null), as HubSpot sends it. Lists page with an opaque
`after` cursor and at most 100 results (50 when `propertiesWithHistory` is asked for), and the
last page carries no `paging`. Search (POST) filters, sorts and pages up to 200 results, and
refuses to page past 10,000 results of one query, as HubSpot does. Batch read returns records
by id, property history included.
"""

from __future__ import annotations

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


class FakeHubSpot(FakeServer):
    name = "hubspot"

    def __init__(self, company: Company, access_token: str = "sandbox-hs-token") -> None:
        super().__init__()
        self.access_token = access_token
        self.owners, self.companies, self.deals = render(company)
        self.route("GET", "/crm/v3/owners/?", self.list_owners)
        self.route("GET", "/crm/v3/objects/(?P<object_type>companies|deals)", self.list_objects)
        self.route("GET", "/crm/v3/pipelines/(?P<object_type>deals)", self.list_pipelines)
        self.route("POST", "/crm/v3/objects/(?P<object_type>companies|deals)/search", self.search)
        self.route("POST", "/crm/v3/objects/(?P<object_type>companies|deals)/batch/read",
                   self.batch_read)
        self.route("POST", "/crm/v4/associations/deals/companies/batch/read",
                   self.deal_companies)

    def _records(self, object_type: str) -> list[dict[str, Any]]:
        return self.companies if object_type == "companies" else self.deals

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
        page = [{"id": r["id"], "properties": {**{k: r["properties"].get(k) for k in wanted},
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
                   if k not in ("properties", "_history", "associations")}
            out["properties"] = {k: record["properties"].get(k) for k in wanted}
            out["properties"]["hs_object_id"] = record_id
            if history:
                out["propertiesWithHistory"] = {n: record["_history"].get(n, []) for n in history}
            results.append(out)
        return Response(200, {"status": "COMPLETE", "results": results})

    def deal_companies(self, request: Request) -> Response:
        """v4 batch associations: each deal's companies, with their association types."""
        ids = [item["id"] for item in request.json().get("inputs", [])]
        by_id = {d["id"]: d for d in self.deals}
        results = []
        for deal_id in ids:
            if deal_id not in by_id:
                continue
            seen = dict.fromkeys(a["id"] for a in by_id[deal_id]["associations"]["companies"][
                "results"])
            results.append({"from": {"id": deal_id}, "to": [
                {"toObjectId": int(company), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": 5, "label": "Primary"},
                    {"category": "HUBSPOT_DEFINED", "typeId": 341, "label": None}]}
                for company in seen]})
        return Response(200, {"status": "COMPLETE", "results": results})

    def archive(self, object_type: str, record_id: str) -> dict[str, Any]:
        """Deleting in HubSpot archives: the record moves to the `archived=true` listing."""
        records = self.companies if object_type == "companies" else self.deals
        record = next(r for r in records if r["id"] == record_id)
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
        records = self.companies if object_type == "companies" else self.deals
        archived = (request.arg("archived") or "false").lower() == "true"
        with_history = request.args("propertiesWithHistory")
        wanted = request.args("properties")
        shaped = []
        for record in records:
            if record["archived"] != archived:
                continue
            out = {k: v for k, v in record.items() if k not in ("properties", "_history")}
            props = record["properties"]
            out["properties"] = {k: props.get(k) for k in wanted} if wanted else dict(props)
            out["properties"]["hs_object_id"] = record["id"]
            if with_history:
                out["propertiesWithHistory"] = {
                    name: record["_history"].get(name, []) for name in with_history}
            if "companies" not in request.args("associations"):
                out.pop("associations", None)
            shaped.append(out)
        return self._page(request, shaped, limit_max=50 if with_history else 100)

    def list_pipelines(self, request: Request, object_type: str) -> Response:
        return Response(200, {"results": PIPELINES})

    def _page(self, request: Request, items: list[dict[str, Any]], limit_max: int) -> Response:
        limit = min(int(request.arg("limit") or 10), limit_max)
        after = request.arg("after")
        offset = 0
        if after:
            ids = [item["id"] for item in items]
            if after not in ids:
                raise HttpError(400, {"status": "error", "category": "VALIDATION_ERROR",
                                      "message": f"invalid after cursor {after}"})
            offset = ids.index(after)
        chunk, following = page_slice(items, offset, limit)
        body: dict[str, Any] = {"results": chunk}
        if following is not None:
            cursor = items[following]["id"]
            body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}"}}
        return Response(200, body)


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
                # Last modified when it was created or last changed hands.
                "hs_lastmodifieddate": iso_z(max(at for at, _ in account.owners))},
            "_history": {"hubspot_owner_id": history},
            "createdAt": iso_z(account.created_at),
            "updatedAt": iso_z(max(at for at, _ in account.owners)), "archived": False})
    deals = [_deal(company, deal, n) for n, deal in enumerate(company.deals_in("hubspot"))]
    return owners, companies, deals


def _deal(company: Company, deal: Deal, n: int) -> dict[str, Any]:
    account = next(a for a in company.accounts if a.key == deal.account_key)
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
    props = {
        "dealname": deal.name, "amount": None if deal.amount is None else f"{deal.amount:.2f}",
        "closedate": close, "dealstage": stage, "pipeline": pipeline,
        "dealtype": "newbusiness" if deal.deal_type == "New Business" else "existingbusiness",
        "hubspot_owner_id": None, "createdate": close, "hs_lastmodifieddate": modified,
        "deal_currency_code": deal.currency or "USD",
        "contract_term_months": None if deal.term_months is None else str(deal.term_months),
        "contract_start_date": deal.service_start.isoformat() if deal.service_start else None,
    }
    deal_id = vendor_id("hs_deal", deal.key)
    associations = {"companies": {"results": [
        {"id": account.crm_id, "type": "deal_to_company"},
        {"id": account.crm_id, "type": "deal_to_company_unlabeled"}]}}
    return {"id": deal_id, "properties": props, "_history": {}, "createdAt": close or "",
            "updatedAt": modified, "archived": False, "associations": associations}


def _value(record: dict[str, Any], name: str) -> Any:
    if name == "hs_object_id":
        return int(record["id"])
    value = record["properties"].get(name)
    if name in ("hs_lastmodifieddate", "createdate", "closedate") and value:
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
