"""Salesforce objects csm-metrics reads, as data: object, fields, key and cursor.

Every stream is incremental on its cursor (SystemModstamp; CreatedDate for history, which is
never edited) and merged on Id, and reports the org's daily API usage; accounts' owners are
snapshotted.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.streams import Stream


@dataclass(frozen=True)
class SoqlStream(Stream):
    sobject: str = ""
    fields: tuple[str, ...] = ()
    # A filter template; values are filled in by simple-salesforce's `format_soql`.
    where: str = ""


STREAMS: dict[str, SoqlStream] = {
    s.name: s
    for s in (
        SoqlStream("salesforce", "users", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, sobject="User",
                   fields=("Id", "Name", "Email", "IsActive", "SystemModstamp")),
        SoqlStream("salesforce", "accounts", "Id", "SystemModstamp", write_mode="merge",
                   snapshots_ownership=True, reports_api_usage=True, sobject="Account",
                   fields=("Id", "Name", "OwnerId", "Type", "Industry", "CreatedDate",
                           "SystemModstamp", "IsDeleted")),
        SoqlStream("salesforce", "opportunities", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, sobject="Opportunity",
                   fields=("Id", "AccountId", "OwnerId", "Name", "Amount", "CloseDate",
                           "StageName", "IsClosed", "IsWon", "Type", "SystemModstamp",
                           "IsDeleted")),
        SoqlStream("salesforce", "account_history", "Id", "CreatedDate", write_mode="merge",
                   reports_api_usage=True, sobject="AccountHistory",
                   fields=("Id", "AccountId", "Field", "DataType", "OldValue", "NewValue",
                           "CreatedDate", "IsDeleted"),
                   where="Field = {history_field}"),
    )
}
