"""Salesforce objects csm-metrics reads, as data: object, fields, key and cursor.

Every stream is incremental on its cursor (SystemModstamp; CreatedDate for history, which is
never edited) and merged on Id, and reports the org's daily API usage; accounts' owners are
snapshotted. Every read goes through `queryAll`: deleted records arrive flagged `IsDeleted`, and
archived activities (`IsArchived`, which `query` silently drops) arrive at all.

`EmailMessage` exists only in orgs with Enhanced Email (or Email-to-Case): elsewhere the API
answers `INVALID_TYPE`, which for an `optional` stream means "not available here", not a failure.
Salesforce has no standard survey object: the feedback stream reads the custom object the
settings name (`salesforce_feedback_object`), and is not read when they name none.
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
    # An object some orgs lack: `INVALID_TYPE` skips the stream with a warning.
    optional: bool = False
    # The object is named by the settings (no `sobject`): unnamed, the stream is not read.
    configured_object: bool = False


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
                           "StageName", "IsClosed", "IsWon", "Type", "LeadSource",
                           "CreatedById", "CreatedDate", "SystemModstamp", "IsDeleted")),
        SoqlStream("salesforce", "account_history", "Id", "CreatedDate", write_mode="merge",
                   reports_api_usage=True, sobject="AccountHistory",
                   fields=("Id", "AccountId", "Field", "DataType", "OldValue", "NewValue",
                           "CreatedDate", "IsDeleted"),
                   where="Field = {history_field}"),
        SoqlStream("salesforce", "tasks", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, sobject="Task",
                   fields=("Id", "AccountId", "WhatId", "WhoId", "OwnerId", "Subject", "Status",
                           "IsClosed", "TaskSubtype", "Type", "CallType", "ActivityDate",
                           "CompletedDateTime", "CreatedDate", "SystemModstamp", "IsDeleted",
                           "IsArchived")),
        SoqlStream("salesforce", "events", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, sobject="Event",
                   fields=("Id", "AccountId", "WhatId", "WhoId", "OwnerId", "Subject",
                           "StartDateTime", "EndDateTime", "IsAllDayEvent", "ActivityDate",
                           "CreatedDate", "SystemModstamp", "IsDeleted", "IsArchived")),
        # No addresses: who wrote to whom is not needed, and is personal data.
        SoqlStream("salesforce", "email_messages", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, sobject="EmailMessage", optional=True,
                   fields=("Id", "ActivityId", "ParentId", "RelatedToId", "Incoming",
                           "MessageDate", "Status", "ReplyToEmailMessageId", "CreatedDate",
                           "SystemModstamp", "IsDeleted")),
        # The fields every custom object has; the settings add its account, score, type and
        # date fields (`Settings.extra_fields`).
        SoqlStream("salesforce", "feedback", "Id", "SystemModstamp", write_mode="merge",
                   reports_api_usage=True, configured_object=True,
                   fields=("Id", "CreatedDate", "SystemModstamp", "IsDeleted")),
    )
}
