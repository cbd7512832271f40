"""The per-CSM and team metric marts, their partitions and their checks."""
