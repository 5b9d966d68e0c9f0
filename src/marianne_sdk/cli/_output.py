"""What commands print: JSON documents, fields, tables, cells and timestamps."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from .._generated import models
from .._streams import StreamGap

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def print_json(value: Any) -> None:
    print(msgspec.json.encode(value).decode(), flush=True)


def show_fields(args: argparse.Namespace, result: msgspec.Struct) -> None:
    if args.json:
        print_json(result)
    else:
        print_fields(msgspec.to_builtins(result))


def print_fields(fields: Mapping[str, Any]) -> None:
    width = max(map(len, fields), default=0) + 1
    for key, value in fields.items():
        print(f"{key + ':':<{width}} {cell(value)}")


def print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    for row in (header, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def event_line(event: models.ObserverEvent | StreamGap) -> str:
    """A ``watch`` line: time, event, job, sheet and data; or what a gap lost."""
    if isinstance(event, StreamGap):
        return (
            f"{when(event.resumed_at, '%H:%M:%S')}  -- events from "
            f"{when(event.broken_at, '%H:%M:%S')} on were lost: {event.reason}"
        )
    return (
        f"{when(event.timestamp, '%H:%M:%S')}  {event.event:<24}  "
        f"{event.job_id or '-'}  sheet {event.sheet_num}  {cell(event.data)}"
    )


def cell(value: Any) -> str:
    if value is None or value is msgspec.UNSET:
        return "-"
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def when(
    moment: datetime.datetime | float | msgspec.UnsetType | None, fmt: str = TIME_FORMAT
) -> str:
    """A timestamp, ISO (checkpoints) or epoch seconds (metadata, events), in local time."""
    if isinstance(moment, datetime.datetime):
        return moment.astimezone().strftime(fmt)
    if isinstance(moment, int | float):
        return datetime.datetime.fromtimestamp(moment).strftime(fmt)
    return "-"
