"""The SQL models as Dagster asset specs, so the asset graph's lineage is the data flow.

Derived from the model graph (transforms/graph.py), never from a list kept here: each staging and
intermediate model is an asset `[<layer>, <model>]` whose deps are what its SQL reads, and each
mart's deps are the models its SQL reads. Working models (`wrk_*`) are a build's temporary tables,
not assets: a mart that reads one depends on what that working model reads, recursively. A raw
table maps to the raw asset that lands it; the pipeline's shared raw tables to the assets that
write them (`raw.quarantine`: every stream; `raw.ownership_snapshots`: the streams that declare
`snapshots_ownership`); the settings tables (`staging.settings`, ...) are written by the marts
step itself, so they are no asset (docs/architecture.md, Dagster).

The staging and intermediate models are views (or typed tables the loader refreshes as records
land), which no run materializes: they are specs of their own, unpartitioned and not executable,
so the graph shows them and their lineage, and no run writes an event for them. Each mart depends
on the models it reads and, directly, on the raw assets below them, so a run that lands time
entries and builds the marts runs them in that order (docs/architecture.md, Dagster).
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, AssetSpec

from connectors.streams import Stream
from pipelines.raw import raw_key
from transforms.graph import Model, ModelGraph, ModelGraphError
from warehouse.schema import pipeline_tables

# The layers whose models are assets of their own besides the marts, in data-flow order.
MODEL_LAYERS = ("staging", "intermediate")


def model_key(model: Model) -> AssetKey:
    return AssetKey([model.layer, model.name])


def header(model: Model) -> str:
    """The model's header comment (its grain and rule), as prose."""
    lines = []
    for line in model.sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line[2:].strip())
    return " ".join(lines)


def _source_keys(streams: list[Stream]) -> dict[str, list[AssetKey]]:
    """The assets that write each table of the pipeline's own that a model may read."""
    writers: dict[str, list[AssetKey]] = {f"raw.{s.table}": [raw_key(s)] for s in streams}
    writers["raw.quarantine"] = [raw_key(s) for s in streams]  # any landing quarantines
    writers["raw.ownership_snapshots"] = [raw_key(s) for s in streams if s.snapshots_ownership]
    # Tables the marts step writes before the models (the settings): read, but no asset.
    for name in pipeline_tables(streams) - set(writers):
        writers[name] = []
    return writers


def model_deps(graph: ModelGraph, streams: list[Stream]) -> dict[str, list[AssetKey]]:
    """Each model's relation -> the asset keys it depends on, working models collapsed."""
    sources = _source_keys(streams)
    graph.check_sources(sources)
    keys_of: dict[str, list[AssetKey]] = dict(sources)  # what reading a relation depends on
    deps: dict[str, list[AssetKey]] = {}
    for model in graph.models:  # in dependency order: every input is resolved already
        read = _unique(key for name in sorted(model.inputs) for key in keys_of[name])
        deps[model.relation] = read
        keys_of[model.relation] = read if model.layer == "working" else [model_key(model)]
    return deps


def model_specs(graph: ModelGraph, streams: list[Stream]) -> list[AssetSpec]:
    """One spec per staging and intermediate model: what it reads, no partitions, no step."""
    deps = model_deps(graph, streams)
    return [
        AssetSpec(model_key(model), group_name=model.layer, kinds={"duckdb"},
                  description=header(model), deps=deps[model.relation],
                  tags={"layer": model.layer},
                  metadata={"table": model.relation, "file": model.file})
        for layer in MODEL_LAYERS for model in graph.layer(layer)
    ]


def mart_deps(graph: ModelGraph, streams: list[Stream]) -> dict[AssetKey, list[AssetKey]]:
    """Each mart's key -> the models (and marts) its SQL reads, through its working models, and
    the raw assets below them (so a run orders the marts after the landing it includes)."""
    deps = model_deps(graph, streams)
    marts = graph.layer("marts")
    if not marts:
        raise ModelGraphError("transforms/marts/: no mart models")
    raw = _raw_below(graph, streams, deps)
    return {model_key(model): _unique([*deps[model.relation], *raw[model.relation]])
            for model in marts}


def _raw_below(graph: ModelGraph, streams: list[Stream],
               deps: dict[str, list[AssetKey]]) -> dict[str, list[AssetKey]]:
    """Each model's relation -> every raw asset it reads, directly or through other models."""
    raw_keys = {raw_key(stream) for stream in streams}
    by_key = {model_key(model): model.relation for model in graph.models
              if model.layer != "working"}
    below: dict[str, list[AssetKey]] = {}
    for model in graph.models:  # in dependency order
        found: list[AssetKey] = []
        for key in deps[model.relation]:
            if key in raw_keys:
                found.append(key)
            elif key in by_key:
                found.extend(below[by_key[key]])
        below[model.relation] = _unique(found)
    return below


def _unique(keys: Iterable[AssetKey]) -> list[AssetKey]:
    return list(dict.fromkeys(keys))
