"""DuckDB: schemas, landing raw pages, applying the SQL models, and writing marts."""
