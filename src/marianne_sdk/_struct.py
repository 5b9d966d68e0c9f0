"""Base classes of the generated models and params types."""

from __future__ import annotations

import msgspec


class WireStruct(msgspec.Struct, kw_only=True):
    """Base of every generated model.

    Unknown fields are ignored on decode, so a newer conductor that sends more
    than the schema knows still decodes.
    """


class ParamsStruct(WireStruct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """Base of the generated params types.

    Params left at their default are not sent (the daemon applies the same
    default), and an unknown key is an error here because the daemon would
    silently ignore a misspelt param.
    """
