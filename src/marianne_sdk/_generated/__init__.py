# Generated from schema/marianne.openrpc.json (sha256 5b6324e06a2f3dbf) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
