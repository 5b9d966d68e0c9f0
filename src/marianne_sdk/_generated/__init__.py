# Generated from schema/marianne.openrpc.json (sha256 4d3daf933b86120e) by `python -m codegen generate`.
# Do not edit: change the schema and regenerate (`make generate`).
