# Generated from schema/marianne.openrpc.json (sha256 b257ebbac3c711a1) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
