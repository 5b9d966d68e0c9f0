"""Code generator of marianne-sdk: schema/marianne.openrpc.json → src/marianne_sdk/_generated/."""
