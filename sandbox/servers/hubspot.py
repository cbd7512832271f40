"""Fake HubSpot CRM v3: owners, companies, deals with company associations, deal pipelines.

Every property value is a string (or null), as HubSpot sends it. Lists page with an opaque
`after` cursor and at most 100 results (50 when `propertiesWithHistory` is asked for), and the
last page carries no `paging`.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
        return self._page(request, self.owners, limit_max=500)

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
        owners.append({
            "id": vendor_id("hs_owner", person.key), "email": person.email, "type": "PERSON",
            "firstName": first, "lastName": last,
            "userId": int(vendor_id("hs_user", person.key)), "createdAt": created,
            "updatedAt": created, "archived": False, "teams": []})
    companies = []
    for account in company.accounts_in("hubspot"):
        owner = account.owners[-1][1]
        history = [{"value": vendor_id("hs_owner", key) if key else "",
                    "timestamp": iso_z(at), "sourceType": "CRM_UI", "sourceId": "userId:1"}
                   for at, key in reversed(account.owners)]
        companies.append({
            "id": account.crm_id,
            "properties": {
                "name": account.name, "domain": account.name.lower().replace(" ", "") + ".com",
                "hubspot_owner_id": vendor_id("hs_owner", owner) if owner else None,
                "industry": account.industry.upper(), "createdate": iso_z(account.created_at),
                "hs_lastmodifieddate": iso_z(MODIFIED)},
            "_history": {"hubspot_owner_id": history},
            "createdAt": iso_z(account.created_at), "updatedAt": iso_z(MODIFIED),
            "archived": False})
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
    close = (iso_z(datetime.combine(deal.close_date, datetime.min.time(), tzinfo=UTC))
             if deal.close_date else None)
    props = {
        "dealname": deal.name, "amount": None if deal.amount is None else f"{deal.amount:.2f}",
        "closedate": close, "dealstage": stage, "pipeline": pipeline,
        "dealtype": "newbusiness" if deal.deal_type == "New Business" else "existingbusiness",
        "hubspot_owner_id": None, "createdate": close, "hs_lastmodifieddate": iso_z(MODIFIED),
        "deal_currency_code": deal.currency or "USD",
        "contract_term_months": None if deal.term_months is None else str(deal.term_months),
        "contract_start_date": deal.service_start.isoformat() if deal.service_start else None,
    }
    deal_id = vendor_id("hs_deal", deal.key)
    associations = {"companies": {"results": [
        {"id": account.crm_id, "type": "deal_to_company"},
        {"id": account.crm_id, "type": "deal_to_company_unlabeled"}]}}
    return {"id": deal_id, "properties": props, "_history": {}, "createdAt": close or "",
            "updatedAt": iso_z(MODIFIED), "archived": False, "associations": associations}
