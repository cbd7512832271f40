"""Fake Salesforce REST API: SOQL query/queryAll with `nextRecordsUrl` paging, over TLS.

simple-salesforce only builds https:// URLs, so this server speaks TLS with a certificate made at
start-up (trustme). The SOQL understood is what connectors send: a field list (or COUNT()), one
object, an optional WHERE of `field op literal` terms joined by AND, ORDER BY and LIMIT. Bulk API
2.0 query jobs complete at once and serve CSV pages through `Sforce-Locator`.

Activities are served as Salesforce keeps them: calls, e-mails and to-dos as `Task`s (TaskSubtype
Call, Email, Task), meetings as `Event`s, and each e-mail also as an `EmailMessage` when the org
has Enhanced Email (`enhanced_email`, a switch; off, EmailMessage queries answer 400
INVALID_TYPE as such an org does). `query` hides archived (`IsArchived`) and deleted activities;
`queryAll` returns both. Events have no outcome: a cancelled or rescheduled meeting is deleted
from the calendar (to the recycle bin). Survey responses are a custom object, `NPS_Response__c`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox.company import Account, Company, Person, vendor_id
from sandbox.servers.base import FakeServer, HttpError, Request, Response, page_slice

API = r"/services/data/v(?P<version>\d+\.\d)"
_SELECT = re.compile(
    r"^\s*select\s+(?P<fields>.+?)\s+from\s+(?P<object>\w+)"
    r"(?:\s+where\s+(?P<where>.+?))?(?:\s+order\s+by\s+(?P<order>\w+)(?:\s+(?P<dir>asc|desc))?)?"
    r"(?:\s+limit\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TERM = re.compile(r"^\s*(\w+)\s*(=|!=|<=|>=|<|>)\s*(.+?)\s*$", re.DOTALL)


def sf_datetime(value: datetime) -> str:
    """Salesforce's UTC timestamp text, milliseconds included."""
    value = value.astimezone(UTC) if value.tzinfo else value
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


class FakeSalesforce(FakeServer):
    name = "salesforce"

    def __init__(self, company: Company, access_token: str = "sandbox-sf-token",
                 batch_size: int = 2000, username: str = "api@example.com",
                 password: str = "sandbox-password",
                 security_token: str = "sandbox-security-token",
                 enhanced_email: bool = True) -> None:
        super().__init__(tls=True)
        self.access_token = access_token
        self.username, self.password, self.security_token = username, password, security_token
        self.batch_size = batch_size
        # Whether the org has Enhanced Email, i.e. the EmailMessage object (a switch).
        self.enhanced_email = enhanced_email
        self.objects = render(company)
        self._cursors: dict[str, list[dict[str, Any]]] = {}
        self._api_usage = itertools.count(1)
        self.route("GET", f"{API}/(?P<kind>query|queryAll)/?", self.query)
        self.route("GET", f"{API}/query/(?P<locator>[\\w-]+)-(?P<offset>\\d+)", self.query_more)
        self._jobs: dict[str, dict[str, Any]] = {}
        # (state, errorMessage) every later bulk job ends in; None: jobs complete (a switch).
        self.bulk_failure: tuple[str, str | None] | None = None
        self.route("POST", r"/services/Soap/u/(?P<version>[\d.]+)", self.soap_login)
        self.route("POST", f"{API}/jobs/query", self.create_job)
        self.route("GET", f"{API}/jobs/query/(?P<job_id>\\w+)", self.get_job)
        self.route("GET", f"{API}/jobs/query/(?P<job_id>\\w+)/results", self.job_results)

    # -- changes, as users make them: each stamps SystemModstamp with the server's clock ---------
    def update(self, sobject: str, record_id: str, **fields: Any) -> dict[str, Any]:
        record = next(r for r in self.objects[sobject] if r["Id"] == record_id)
        record.update(fields, SystemModstamp=sf_datetime(datetime.now(UTC)))
        return record

    def delete(self, sobject: str, record_id: str) -> dict[str, Any]:
        """To the recycle bin: hidden from query, returned by queryAll with IsDeleted."""
        return self.update(sobject, record_id, IsDeleted=True)

    def insert(self, sobject: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {**record, "IsDeleted": False, "SystemModstamp": sf_datetime(datetime.now(UTC))}
        self.objects[sobject].append(record)
        return record

    def soap_login(self, request: Request, version: str) -> Response:
        """The SOAP login of username/password (+ security token) auth."""
        body = request.body.decode()
        username = re.search(r"<n1:username>(.*?)</n1:username>", body)
        password = re.search(r"<n1:password>(.*?)</n1:password>", body)
        if not (username and password and username.group(1) == self.username
                and password.group(1) == self.password + self.security_token):
            fault = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                     'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                     'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body>'
                     '<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><detail>'
                     '<sf:LoginFault><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>'
                     '<sf:exceptionMessage>Invalid username, password, security token; or '
                     'user locked out.</sf:exceptionMessage></sf:LoginFault></detail>'
                     '</soapenv:Fault></soapenv:Body></soapenv:Envelope>')
            return Response(500, None, {"Content-Type": "text/xml"}, raw=fault.encode())
        ok = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
              'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
              'xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>'
              f"<serverUrl>{self.base_url}/services/Soap/u/{version}/00DKd000000sandbox"
              f"</serverUrl><sessionId>{self.access_token}</sessionId>"
              "</result></loginResponse></soapenv:Body></soapenv:Envelope>")
        return Response(200, None, {"Content-Type": "text/xml"}, raw=ok.encode())

    def authenticate(self, request: Request) -> None:
        if request.path.startswith("/services/Soap/u/"):
            return  # the login itself carries the credentials in its body
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            raise HttpError(401, [{"message": "Session expired or invalid",
                                   "errorCode": "INVALID_SESSION_ID"}])

    def not_found_body(self, request: Request) -> Any:
        return [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={next(self._api_usage)}/15000"}

    def _batch(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        match = re.search(r"batchSize=(\d+)", options)
        asked = max(200, min(2000, int(match.group(1)))) if match else 2000
        # batchSize is a hint: Salesforce may send fewer, which the configured cap imitates.
        return min(asked, self.batch_size)

    def query(self, request: Request, version: str, kind: str) -> Response:
        soql = request.arg("q")
        if not soql:
            raise HttpError(400, [{"errorCode": "MALFORMED_QUERY", "message": "q is required"}])
        records = self._run(soql, include_deleted=kind == "queryAll")
        if records and records[0]["attributes"]["type"] == "AggregateResult":
            return Response(200, {"totalSize": len(records), "done": True, "records": []},
                            self._headers())
        return self._page(records, 0, self._batch(request), version, str(uuid.uuid4().hex[:15]))

    def query_more(self, request: Request, version: str, locator: str, offset: str) -> Response:
        if locator not in self._cursors:
            raise HttpError(400, [{"errorCode": "INVALID_QUERY_LOCATOR",
                                   "message": "invalid query locator"}])
        response = self._page(self._cursors[locator], int(offset), self._batch(request),
                              version, locator)
        if response.body["done"]:  # its last page served: the cursor is freed
            self._cursors.pop(locator, None)
        return response

    def create_job(self, request: Request, version: str) -> Response:
        body = request.json()
        if body.get("operation") not in ("query", "queryAll"):
            raise HttpError(400, [{"errorCode": "INVALIDJOB", "message": "bad operation"}])
        records = self._run(body.get("query", ""), body["operation"] == "queryAll")
        job_id = "750" + uuid.uuid4().hex[:15]
        self._jobs[job_id] = {"records": records, "operation": body["operation"]}
        return Response(200, {"id": job_id, "operation": body["operation"],
                              "state": "UploadComplete"}, self._headers())

    def fail_bulk_jobs(self, state: str = "Failed", message: str | None = "InvalidBatch : "
                       "Failed to process query") -> None:
        """Bulk query jobs end `Failed` (with Salesforce's `errorMessage`) or `Aborted` from now
        on, as a job does that Salesforce could not run or that an admin aborted."""
        self.bulk_failure = (state, message)

    def get_job(self, request: Request, version: str, job_id: str) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            raise HttpError(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
        if self.bulk_failure is not None:
            state, message = self.bulk_failure
            return Response(200, {"id": job_id, "operation": job["operation"], "state": state,
                                  **({"errorMessage": message} if message else {})},
                            self._headers())
        return Response(200, {"id": job_id, "operation": job["operation"],
                              "state": "JobComplete",
                              "numberRecordsProcessed": len(job["records"])}, self._headers())

    def job_results(self, request: Request, version: str, job_id: str) -> Response:
        job = self._jobs.get(job_id)
        if job is None:
            raise HttpError(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
        size = int(request.arg("maxRecords") or 50000)
        offset = int(request.arg("locator") or 0)
        chunk, following = page_slice(job["records"], offset, size)
        if following is None:  # its last results page: the job's records are freed
            self._jobs.pop(job_id, None)
        fields = [f for f in (chunk[0] if chunk else {}) if f != "attributes"]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fields)
        for record in chunk:  # Bulk CSV: empty for null, true/false, datetimes with Z
            writer.writerow([_csv_value(record[f]) for f in fields])
        return Response(200, None, {"Content-Type": "text/csv",
                                    "Sforce-Locator": str(following) if following else "null",
                                    "Sforce-NumberOfRecords": str(len(chunk))},
                        raw=out.getvalue().encode())

    def _page(self, records: list[dict[str, Any]], offset: int, size: int, version: str,
              locator: str) -> Response:
        chunk, following = page_slice(records, offset, size)
        body: dict[str, Any] = {"totalSize": len(records), "done": following is None,
                                "records": chunk}
        if following is not None:
            self._cursors[locator] = records
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{following}"
        return Response(200, body, self._headers())

    def _run(self, soql: str, include_deleted: bool) -> list[dict[str, Any]]:
        match = _SELECT.match(soql)
        if match is None:
            raise HttpError(400, [{"errorCode": "MALFORMED_QUERY", "message": f"bad SOQL: {soql}"}])
        object_name = match.group("object")
        table = self.objects.get(object_name)
        if table is None or (object_name == "EmailMessage" and not self.enhanced_email):
            raise HttpError(400, [{"errorCode": "INVALID_TYPE",
                                   "message": f"sObject type '{object_name}' is not supported. "
                                   "If you are attempting to use a custom object, be sure to "
                                   "append the '__c' after the entity name."}])
        fields = [f.strip() for f in match.group("fields").split(",")]
        counting = [f.upper() for f in fields] == ["COUNT()"]
        if counting:
            fields = []
        known = table[0].keys() if table else set(fields)
        for name in fields:
            if name not in known:
                raise HttpError(400, [{"errorCode": "INVALID_FIELD", "message":
                                       f"No such column '{name}' on entity '{object_name}'."}])
        # query drops deleted records and archived activities; queryAll returns both.
        rows = [r for r in table
                if include_deleted or not (r.get("IsDeleted") or r.get("IsArchived"))]
        if match.group("where"):
            for term in re.split(r"\s+and\s+", match.group("where"), flags=re.IGNORECASE):
                rows = _filter(rows, term)
        if match.group("order"):
            key = match.group("order")
            rows = sorted(rows, key=lambda r: (r[key] is None, r[key]),
                          reverse=(match.group("dir") or "").lower() == "desc")
        if match.group("limit"):
            rows = rows[: int(match.group("limit"))]
        if counting:  # COUNT() answers with totalSize and no records
            return [{"attributes": {"type": "AggregateResult"}}] * len(rows)
        return [{"attributes": {"type": object_name,
                                "url": f"/services/data/v59.0/sobjects/{object_name}/{r['Id']}"},
                 **{f: r[f] for f in fields}} for r in rows]


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}T.*\+0000$", value):
        return value.replace("+0000", "Z")
    return str(value)


def _filter(rows: list[dict[str, Any]], term: str) -> list[dict[str, Any]]:
    match = _TERM.match(term)
    if match is None:
        raise HttpError(400, [{"errorCode": "MALFORMED_QUERY", "message": f"bad term: {term}"}])
    name, op, literal = match.groups()
    value = _literal(literal)
    compare = {"=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
               ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}[op]
    kept = []
    for row in rows:
        if name not in row:
            raise HttpError(400, [{"errorCode": "INVALID_FIELD", "message": f"No such column "
                                   f"'{name}'"}])
        current = row[name]
        if isinstance(value, datetime) and isinstance(current, str):
            current = _parse_sf_datetime(current)
        comparable = (current is not None and value is not None) or (
            value is None and op in ("=", "!="))
        if comparable and compare(current, value):
            kept.append(row)
    return kept


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("\\'", "'")
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.lower() == "null":
        return None
    if re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    try:
        return float(text)
    except ValueError:
        raise HttpError(400, [{"errorCode": "MALFORMED_QUERY",
                               "message": f"unexpected token: {text}"}]) from None


def _parse_sf_datetime(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def render(company: Company) -> dict[str, list[dict[str, Any]]]:
    """The company as Salesforce objects."""
    modstamp = sf_datetime(datetime(2026, 11, 1, 3, 0))
    users = [_user(p, modstamp) for p in company.crm_people("salesforce")]
    # One map of each a render: a scan of every account (or person) per lookup is quadratic.
    by_key = {a.key: a for a in company.accounts}
    people = {p.key: p for p in company.people}
    accounts, history = [], []
    for account in company.accounts_in("salesforce"):
        first_owner = account.owners[0][1]
        current = account.owners[-1][1]
        accounts.append({
            "Id": account.crm_id, "Name": account.name,
            "OwnerId": vendor_id("sf_user", current) if current else None,
            "Type": "Customer - Direct", "Industry": account.industry,
            "CreatedDate": sf_datetime(account.created_at),
            "Go_Live_Date__c": account.value_milestone.isoformat()
            if account.value_milestone else None,
            # Last modified when it was created or last changed hands.
            "SystemModstamp": sf_datetime(max(at for at, _ in account.owners)),
            "IsDeleted": False,
        })
        previous = first_owner
        for n, (changed_at, owner) in enumerate(account.owners[1:]):
            # Salesforce writes two rows per owner change: one with user ids, one with names.
            for twin, (old, new) in enumerate((
                (vendor_id("sf_user", previous) if previous else None,
                 vendor_id("sf_user", owner) if owner else None),
                (people[previous].name if previous else None,
                 people[owner].name if owner else None),
            )):
                history.append({
                    "Id": vendor_id("sf_history", f"{account.key}-{n}-{twin}"),
                    "AccountId": account.crm_id, "Field": "Owner", "DataType": "EntityId"
                    if twin == 0 else "Text", "OldValue": old, "NewValue": new,
                    "CreatedDate": sf_datetime(changed_at), "IsDeleted": False,
                })
            previous = owner
    opportunities = []
    for deal in company.deals_in("salesforce"):
        opportunities.append({
            "Id": vendor_id("sf_opportunity", deal.key),
            "AccountId": by_key[deal.account_key].crm_id,
            "OwnerId": _deal_owner(by_key, deal),
            "Name": deal.name, "Amount": float(deal.amount) if deal.amount is not None else None,
            "CloseDate": deal.close_date.isoformat() if deal.close_date else None,
            "StageName": "Closed Won" if deal.won else "Closed Lost" if deal.closed
            else "Negotiation/Review",
            "IsClosed": deal.closed, "IsWon": deal.won, "Type": deal.deal_type,
            "Probability": 100.0 if deal.won else 0.0 if deal.closed else 60.0,
            "CurrencyIsoCode": deal.currency or "USD",
            "Term_Months__c": deal.term_months,
            "Service_Start__c": deal.service_start.isoformat() if deal.service_start else None,
            "LeadSource": deal.lead_source,
            "CreatedById": vendor_id("sf_user", deal.created_by) if deal.created_by
            else _deal_owner(by_key, deal),
            "CreatedDate": sf_datetime(_deal_created(deal)),
            "Loss_Reason__c": deal.loss_reason,
            "SystemModstamp": sf_datetime(datetime.combine(
                deal.close_date or date(2026, 1, 1), datetime.min.time()) + timedelta(hours=1)),
            "IsDeleted": False,
        })
    tasks, events, emails = _activities(company)
    crm_ids = {key: a.crm_id for key, a in by_key.items()}
    return {"User": users, "Account": accounts, "Opportunity": opportunities,
            "AccountHistory": history, "Task": tasks, "Event": events, "EmailMessage": emails,
            "NPS_Response__c": [_feedback(crm_ids, f) for f in company.feedback_in("salesforce")]}


def _deal_created(deal: Any) -> datetime:
    """Deal.created_at, else its close date at 00:00 UTC less 30 days."""
    if deal.created_at is not None:
        return deal.created_at
    closed = datetime.combine(deal.close_date or date(2026, 1, 1), datetime.min.time(), UTC)
    return closed - timedelta(days=30)


def _modstamp(at: datetime | None) -> str:
    """Last modified an hour after it happened, never later than now (a cursor from the future
    is refused)."""
    now = datetime.now(UTC)
    return sf_datetime(min(at + timedelta(hours=1), now) if at else min(_EPOCH, now))


_EPOCH = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _activities(company: Company) -> tuple[list[dict[str, Any]], ...]:
    """Tasks (calls, e-mails, to-dos), events (meetings) and e-mail messages."""
    crm_ids = {a.key: a.crm_id for a in company.accounts}
    tasks, events, emails = [], [], []
    for activity in company.activities_in("salesforce"):
        account = crm_ids[activity.account_keys[0]] if activity.account_keys else None
        owner = vendor_id("sf_user", activity.person_key) if activity.person_key else None
        at = activity.at
        common = {"AccountId": account, "WhatId": account, "WhoId": None, "OwnerId": owner,
                  "Subject": activity.subject or activity.kind.capitalize(),
                  "SystemModstamp": _modstamp(at), "IsDeleted": activity.deleted,
                  "IsArchived": activity.archived}
        if activity.kind == "meeting":
            start = (datetime.combine(at.date(), datetime.min.time(), UTC)
                     if at and activity.all_day else at)
            length = timedelta(days=1) if activity.all_day else timedelta(minutes=30)
            events.append({
                "Id": vendor_id("sf_event", activity.key), **common,
                "StartDateTime": sf_datetime(start) if start else None,
                "EndDateTime": sf_datetime(start + length) if start else None,
                "DurationInMinutes": int(length.total_seconds() // 60),
                "IsAllDayEvent": activity.all_day,
                "ActivityDate": at.date().isoformat() if at else None,
                "ActivityDateTime": None if activity.all_day or not at else sf_datetime(at),
                "CreatedDate": _modstamp(at - timedelta(days=7, hours=1) if at else None),
                # No outcome on an event: one that did not take place is deleted.
                "IsDeleted": activity.deleted or activity.status in ("canceled", "rescheduled"),
            })
            continue
        closed = activity.kind == "email" or activity.status == "completed"
        task_id = vendor_id("sf_task", activity.key)
        tasks.append({
            "Id": task_id, **common,
            "Status": "Completed" if closed else "Not Started", "IsClosed": closed,
            "TaskSubtype": {"call": "Call", "email": "Email"}.get(activity.kind, "Task"),
            "Type": {"call": "Call", "email": "Email"}.get(activity.kind, "Other"),
            "CallType": {"inbound": "Inbound", "outbound": "Outbound", "internal": "Internal"}
            .get(activity.direction) if activity.kind == "call" else None,
            "ActivityDate": at.date().isoformat() if at else None,
            "CompletedDateTime": sf_datetime(at) if closed and at else None,
            "CreatedDate": _modstamp(at - timedelta(hours=1) if at else None),
        })
        if activity.kind == "email":
            incoming = activity.direction == "inbound"
            emails.append({
                "Id": vendor_id("sf_email", activity.key), "ActivityId": task_id,
                "ParentId": None,
                "RelatedToId": None if activity.linked_through_task else account,
                "Incoming": incoming, "MessageDate": sf_datetime(at) if at else None,
                "Status": "1" if incoming else "3",  # Read / Sent
                "ReplyToEmailMessageId": None, "CreatedDate": common["SystemModstamp"],
                "SystemModstamp": common["SystemModstamp"], "IsDeleted": activity.deleted,
            })
    return tasks, events, emails


def _feedback(crm_ids: dict[str, str], response: Any) -> dict[str, Any]:
    """A survey response as the custom object `NPS_Response__c` holds it (a number field: a
    score that is no number is sent as typed)."""
    try:
        score: Any = float(response.score) if response.score is not None else None
    except ValueError:
        score = response.score
    return {"Id": vendor_id("sf_feedback", response.key), "Name": response.key,
            "Account__c": crm_ids.get(response.account_key) if response.account_key else None,
            "Score__c": score, "Survey_Type__c": response.survey_type,
            "Response_Date__c": sf_datetime(response.at),
            "CreatedDate": sf_datetime(response.at),
            "SystemModstamp": _modstamp(response.at), "IsDeleted": False}


def _user(person: Person, modstamp: str) -> dict[str, Any]:
    return {"Id": vendor_id("sf_user", person.key), "Name": person.name, "Email": person.email,
            # A leaver is deactivated (Salesforce users are never deleted): still listed by a
            # plain query, with IsActive false.
            "IsActive": person.left_at is None, "SystemModstamp": modstamp, "IsDeleted": False}


def _deal_owner(accounts: Mapping[str, Account], deal: Any) -> str | None:
    """The deal's account's current owner, as a Salesforce user id."""
    owner = accounts[deal.account_key].owners[-1][1]
    return vendor_id("sf_user", owner) if owner else None
