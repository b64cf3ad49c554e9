"""Development tools, apart from the product.

The Spotify sandbox, the demo account of `make run`, and the synthetic-data
generators live here. Product code (config, spotify_client, warehouse,
accounts, ingestion, dashboard) never imports this package: import-linter
says so in `make lint`. Tests and benchmarks use it freely.
"""
