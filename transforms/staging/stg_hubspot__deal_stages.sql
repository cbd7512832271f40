-- grain: one row per (pipeline, stage) of HubSpot deal pipelines.
-- rule: closed-won is a stage whose metadata says closed (isClosed) and won (probability 1.0),
-- whatever its id; custom pipelines rarely call it `closedwon`. A closed stage that is not won
-- is closed-lost.
with source as (
    select * from raw.hubspot__deal_pipelines
),

stages as (
    select
        _pk,
        _record->>'id' as pipeline_id,
        unnest(from_json(
            _record->'stages',
            '[{"id": "VARCHAR", "label": "VARCHAR", "metadata": {"isClosed": "VARCHAR", "probability": "VARCHAR"}}]'
        )) as stage
    from source
),

final as (
    select
        _pk,
        pipeline_id,
        stage.id as stage_id,
        stage.label as stage_label,
        coalesce(lower(stage.metadata.isClosed) = 'true', false)
            and coalesce(try_cast(stage.metadata.probability as double) = 1.0, false)
            as is_closed_won,
        coalesce(lower(stage.metadata.isClosed) = 'true', false) as is_closed
    from stages
)

select * from final
