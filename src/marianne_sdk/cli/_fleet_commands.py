"""The commands that ask several conductors at once (``--socket`` repeated), through a Fleet.

Each prints one table with a TARGET column, or under ``--json`` records that
each carry ``"target"``; every target that failed is reported on stderr,
named. The exit status is 0 when every target answered, ``EXIT_PARTIAL``
when some did, and the first failure's own status when none did.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from .._errors import DaemonError
from .._fleet_result import FleetResult
from .._generated import params, registry
from .._invoke import NOT_GIVEN
from ..sync import Fleet
from ._commands import job_row
from ._exits import EXIT_OK, EXIT_PARTIAL, exit_code_for, report_error
from ._output import cell, event_line, print_json, print_table


def status(fleet: Fleet, args: argparse.Namespace) -> int:
    result = fleet._fan_out_typed(registry.DAEMON_STATUS, params.DaemonStatusParams(), NOT_GIVEN)
    return _show_each(args, result)


def health(fleet: Fleet, args: argparse.Namespace) -> int:
    result = fleet._fan_out_typed(registry.DAEMON_HEALTH, params.DaemonHealthParams(), NOT_GIVEN)
    return _show_each(args, result)


def jobs(fleet: Fleet, args: argparse.Namespace) -> int:
    result = fleet._fan_out_typed(registry.JOB_LIST, params.JobListParams(), NOT_GIVEN)
    if args.json:
        print_json(
            [_with_target(target, job) for target, listed in result.ok.items() for job in listed]
        )
    else:
        print_table(
            ("TARGET", "JOB", "STATUS", "PROGRESS", "SUBMITTED", "CONFIG"),
            [(target, *job_row(job)) for target, listed in result.ok.items() for job in listed],
        )
    return _outcome(args, result.ok, result.failed)


def watch(fleet: Fleet, args: argparse.Namespace) -> int:
    reported: set[str] = set()
    width = max(map(len, fleet.targets))
    events = fleet.monitor(idle_timeout=args.idle_timeout, reconnect=args.reconnect)
    try:
        with events:
            _report_new(args, events.failed, reported)
            for target, event in events:
                if args.json:
                    print_json(_with_target(target, event))
                else:
                    print(f"{target:<{width}}  {event_line(event)}", flush=True)
                _report_new(args, events.failed, reported)
    except KeyboardInterrupt:
        pass
    except TimeoutError:
        if args.idle_timeout is None:
            raise
    failed = events.failed
    _report_new(args, failed, reported)
    return _outcome(args, [t for t in fleet.targets if t not in failed], failed, report=False)


def _show_each(args: argparse.Namespace, result: FleetResult[Any]) -> int:
    records = [_with_target(target, value) for target, value in result.ok.items()]
    if args.json:
        print_json(records)
    elif records:
        header = list(dict.fromkeys(key for record in records for key in record))
        print_table(
            [key.upper() for key in header],
            [[cell(record.get(key)) for key in header] for record in records],
        )
    return _outcome(args, result.ok, result.failed)


def _with_target(target: str, value: msgspec.Struct) -> dict[str, Any]:
    fields: dict[str, Any] = msgspec.to_builtins(value)
    return {"target": target, **fields}


def _report_new(
    args: argparse.Namespace, failed: Mapping[str, DaemonError], reported: set[str]
) -> None:
    for target, error in failed.items():
        if target not in reported:
            reported.add(target)
            _report(args, target, error)


def _report(args: argparse.Namespace, target: str, error: DaemonError) -> None:
    report_error(
        type(error).__name__,
        str(error),
        exit_code_for(error),
        code=error.code,
        as_json=args.json,
        target=target,
    )


def _outcome(
    args: argparse.Namespace,
    ok: Iterable[str],
    failed: Mapping[str, DaemonError],
    *,
    report: bool = True,
) -> int:
    """Report each failure (unless already reported); the exit status of the whole."""
    if report:
        for target, error in failed.items():
            _report(args, target, error)
    if not failed:
        return EXIT_OK
    if any(True for _ in ok):
        return EXIT_PARTIAL
    return exit_code_for(next(iter(failed.values())))
