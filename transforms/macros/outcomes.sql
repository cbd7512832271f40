-- The feedback and sourcing formulas of docs/metrics.md ("NPS and CSAT", "Expansion
-- sourcing"), written once for every grain that reports them (CSM, team, account). Each is NULL,
-- not an error, when its denominator is zero.
create or replace macro nps_score(promoters, detractors, responses) as
    100.0 * (promoters - detractors) / nullif(responses, 0);

create or replace macro safe_share(part, whole) as
    cast(part as double) / nullif(cast(whole as double), 0);
