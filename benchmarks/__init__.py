"""`make bench`: the pipeline at scale, stage by stage, against the fake APIs (docs/performance.md).

Nothing here runs in the test suite: speed and memory are measured here, never asserted by tests.
"""
