# Generated from schema/marianne.openrpc.json (sha256 4d66e71e5aefae2f) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
