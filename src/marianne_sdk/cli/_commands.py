"""The commands that talk to a conductor through the blocking client."""

from __future__ import annotations

import argparse
import os

import msgspec

from .._generated import models
from .._generated.registry import METHODS
from .._streams import StreamGap
from ..sync import DaemonClient
from ._arguments import UsageError, parse_params
from ._exits import EXIT_OK, EXIT_REJECTED, report_error
from ._follow import follow
from ._output import cell, print_fields, print_json, print_table, show_fields, when


def methods(args: argparse.Namespace) -> int:
    infos = sorted(METHODS.values(), key=lambda info: info.name)
    if args.json:
        print_json(
            [
                {
                    "name": info.name,
                    "python_name": info.python_name,
                    "idempotent": info.idempotent,
                    "streaming": info.streaming,
                    "summary": info.summary,
                }
                for info in infos
            ]
        )
        return EXIT_OK
    print_table(
        ("METHOD", "PYTHON", "FLAGS", "SUMMARY"),
        [
            (
                info.name,
                info.python_name,
                _method_flags(info.idempotent, info.streaming),
                info.summary,
            )
            for info in infos
        ],
    )
    return EXIT_OK


def _method_flags(idempotent: bool, streaming: bool) -> str:
    flags = [flag for flag, on in (("idempotent", idempotent), ("streaming", streaming)) if on]
    return ",".join(flags) or "-"


def call(client: DaemonClient, args: argparse.Namespace) -> int:
    info = METHODS.get(args.method)
    params = parse_params(args.params, None if info is None else info.params_type)
    if info is not None and info.streaming:
        raise UsageError(f"{info.name} streams events: use `marianne-sdk watch`")
    # The client validates the params of known methods before sending anything.
    result = client.call(args.method, params)
    if args.json:
        print_json(result)
    else:
        print(msgspec.json.format(msgspec.json.encode(result), indent=2).decode())
    return EXIT_OK


def status(client: DaemonClient, args: argparse.Namespace) -> int:
    show_fields(args, client.status())
    return EXIT_OK


def health(client: DaemonClient, args: argparse.Namespace) -> int:
    show_fields(args, client.health())
    return EXIT_OK


def jobs(client: DaemonClient, args: argparse.Namespace) -> int:
    jobs = client.list_jobs()
    if args.json:
        print_json(jobs)
        return EXIT_OK
    print_table(
        ("JOB", "STATUS", "PROGRESS", "SUBMITTED", "CONFIG"),
        [
            (job.job_id, job.status, _progress(job), when(job.submitted_at), job.config_path)
            for job in jobs
        ],
    )
    return EXIT_OK


def _progress(job: models.JobListEntry) -> str:
    if job.progress_completed is not msgspec.UNSET and job.progress_total is not msgspec.UNSET:
        return f"{job.progress_completed}/{job.progress_total}"
    return "-"


_JOB_FIELDS = (
    "job_id",
    "job_name",
    "status",
    "config_path",
    "workspace",
    "total_sheets",
    "last_completed_sheet",
    "current_sheet",
    "submitted_at",
    "started_at",
    "completed_at",
    "error_message",
)


def job(client: DaemonClient, args: argparse.Namespace) -> int:
    state = client.get_job_status(args.job_id)
    if args.json:
        print_json(state)
        return EXIT_OK
    # Only the fields the shape that arrived carries (see JobState.shape).
    fields = {name: getattr(state, name) for name in _JOB_FIELDS}
    print_fields(
        {
            name: when(value) if name.endswith("_at") else value
            for name, value in fields.items()
            if value is not msgspec.UNSET
        }
    )
    if state.sheets:
        print()
        print_table(
            ("SHEET", "STATUS", "ATTEMPTS", "EXIT", "ERROR"),
            [
                (
                    number,
                    sheet.status,
                    str(sheet.attempt_count),
                    cell(sheet.exit_code),
                    cell(sheet.error_message),
                )
                for number, sheet in sorted(state.sheets.items(), key=lambda item: int(item[0]))
            ],
        )
    return EXIT_OK


def submit(client: DaemonClient, args: argparse.Namespace) -> int:
    # The daemon resolves relative paths against its own directory, not ours.
    request = models.JobRequest(
        config_path=os.path.abspath(args.config_path),
        workspace=os.path.abspath(args.workspace) if args.workspace else None,
        fresh=args.fresh,
        client_cwd=os.getcwd(),
    )
    response = client.submit_job(request)
    show_fields(args, response)
    if response.status == "rejected":
        return refused(args, response.message)
    return follow(client, response.job_id, args) if args.wait else EXIT_OK


def pause(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.pause_job(args.job_id)
    show_fields(args, result)
    return EXIT_OK if result.paused else refused(args, result.error or "not paused")


def resume(client: DaemonClient, args: argparse.Namespace) -> int:
    response = client.resume_job(args.job_id)
    show_fields(args, response)
    return refused(args, response.message) if response.status == "rejected" else EXIT_OK


def cancel(client: DaemonClient, args: argparse.Namespace) -> int:
    result = client.cancel_job(args.job_id)
    show_fields(args, result)
    return (
        EXIT_OK if result.cancelled else refused(args, f"no running task for job {args.job_id!r}")
    )


def refused(args: argparse.Namespace, reason: str | None) -> int:
    """A job operation the daemon refused with a result rather than an error."""
    return report_error("rejected", reason or "no reason given", EXIT_REJECTED, as_json=args.json)


def watch(client: DaemonClient, args: argparse.Namespace) -> int:
    try:
        with client.monitor(idle_timeout=args.idle_timeout, reconnect=args.reconnect) as events:
            for event in events:
                if args.json:
                    print_json(event)
                elif isinstance(event, StreamGap):
                    print(
                        f"{when(event.resumed_at, '%H:%M:%S')}  -- events from "
                        f"{when(event.broken_at, '%H:%M:%S')} on were lost: {event.reason}",
                        flush=True,
                    )
                else:
                    print(
                        f"{when(event.timestamp, '%H:%M:%S')}  {event.event:<24}  "
                        f"{event.job_id or '-'}  sheet {event.sheet_num}  {cell(event.data)}",
                        flush=True,
                    )
    except KeyboardInterrupt:
        pass
    except TimeoutError:
        if args.idle_timeout is None:
            raise
    return EXIT_OK
