"""What the async demos do, written once: the SDK's API is the same on asyncio and trio."""

from __future__ import annotations

import sys
from pathlib import Path

from marianne_sdk import DaemonClient, JobRequest, JobSubmissionError

FINAL_EVENTS = {"job.completed", "job.failed"}


def score_path(default_name: str) -> Path:
    """The score to submit: the first command-line argument, else a demo path.

    The conductor takes the job id from the file name. The fake conductor of
    ``make demo`` accepts any path; a real conductor needs a real score.
    """
    if len(sys.argv) > 1:
        return Path(sys.argv[1]).resolve()  # the conductor resolves paths against its own cwd
    return Path(__file__).with_name(f"{default_name}.yaml")


async def follow_a_job(client: DaemonClient, score: Path) -> int:
    """Submit ``score``, print its events until it ends, then its final state."""
    # Subscribe before submitting, so that none of the job's events is missed.
    async with client.monitor(idle_timeout=60) as events:
        response = await client.submit_job(JobRequest(config_path=str(score)))
        print(f"submit {score.name}: {response.status} ({response.message})")
        if response.status != "accepted":
            return 1
        async for event in events:
            if event.job_id == response.job_id:
                print(f"  {event.event}", f"sheet {event.sheet_num}" if event.sheet_num else "")
                if event.event in FINAL_EVENTS:
                    break

    state = await client.get_job_status(response.job_id)
    completed = sum(sheet.status == "completed" for sheet in (state.sheets or {}).values())
    print(f"job {state.job_id}: {state.status}, {completed}/{state.total_sheets} sheets completed")

    try:
        await client.get_job_status("does-not-exist")
    except JobSubmissionError as error:
        print(f"handled {type(error).__name__} (code {error.code}): {error.message}")
    return 0
