"""The blocking client: the same walkthrough without async, for scripts.

    python -m examples.sync_demo [SCORE.yaml]

The socket is $MARIANNE_SOCKET, else the conductor's /tmp/marianne.sock.
"""

from __future__ import annotations

import sys

from examples.walkthrough import FINAL_EVENTS, score_path
from marianne_sdk import JobRequest, JobSubmissionError
from marianne_sdk.sync import DaemonClient


def main() -> int:
    score = score_path("sync-demo")
    with DaemonClient() as client:
        # Subscribe before submitting, so that none of the job's events is missed.
        with client.monitor(idle_timeout=60) as events:
            response = client.submit_job(JobRequest(config_path=str(score)))
            print(f"submit {score.name}: {response.status} ({response.message})")
            if response.status != "accepted":
                return 1
            for event in events:
                if event.job_id == response.job_id and event.event in FINAL_EVENTS:
                    print(f"  {event.event}")
                    break

        state = client.get_job_status(response.job_id)
        print(f"job {state.job_id}: {state.status}, {state.last_completed_sheet} sheets done")

        try:
            client.get_job_status("does-not-exist")
        except JobSubmissionError as error:
            print(f"handled {type(error).__name__} (code {error.code}): {error.message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
