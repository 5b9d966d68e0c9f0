"""The pytest plugin, as users get it: loaded from the installed package's entry point.

Each check runs pytest in a subprocess on a test module written as a user
would, the README's own example first.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
FIXTURES = [
    "marianne_socket_path",
    "marianne_fake_options",
    "marianne_client_options",
    "marianne_fake",
    "marianne_client",
    "marianne_sync_fake",
    "marianne_sync_client",
]

BOTH_BACKENDS = """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

ON_EVERY_RUNNER = """
import pytest
from marianne_sdk import JobRequest

async def check(fake, client, path):
    assert str(client.socket_path) == fake.socket_path == str(path)
    fake.plan_job("quick", sheets=2)
    state = await client.submit_and_wait(JobRequest(config_path="/s/quick.yaml"), timeout=30)
    assert (state.job_id, state.status) == ("quick", "completed")
    assert fake.count("job.submit") == 1

@pytest.fixture
def marianne_fake_options():
    return {"step_seconds": 0.01}

@pytest.mark.anyio
async def test_anyio(marianne_fake, marianne_client, marianne_socket_path):
    await check(marianne_fake, marianne_client, marianne_socket_path)

@pytest.mark.asyncio
async def test_pytest_asyncio(marianne_fake, marianne_client, marianne_socket_path):
    await check(marianne_fake, marianne_client, marianne_socket_path)

@pytest.fixture
def marianne_client_options():
    return {"timeout": 2.0}

def test_blocking_with_client_options(marianne_sync_fake, marianne_sync_client):
    marianne_sync_fake.inject("silence", "daemon.health")
    with pytest.raises(TimeoutError, match="within 2.0 s"):
        marianne_sync_client.health()

def test_a_blocking_test_asking_for_the_async_fake(marianne_fake):
    pass
"""

UNMARKED = """
from marianne_sdk import JobRequest

async def test_auto_mode(marianne_fake, marianne_client):
    await marianne_client.submit_job(JobRequest(config_path="/s/auto.yaml"))
    assert marianne_fake.count("job.submit") == 1
"""


def readme_example() -> str:
    """The test module the README shows in its testing section."""
    text = README.read_text()
    after = text.split("<!-- readme-example: plugin -->\n```python\n", 1)[1]
    return after.split("```", 1)[0]


def test_the_readme_example_and_the_fixtures_on_every_runner(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(BOTH_BACKENDS)
    pytester.makepyfile(test_readme=readme_example(), test_runners=ON_EVERY_RUNNER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(passed=9, errors=1)
    result.stdout.fnmatch_lines_random(
        [
            "PASSED test_readme.py::test_a_failing_job[[]trio[]]",
            "PASSED test_readme.py::test_blocking_code",
            "PASSED test_runners.py::test_anyio[[]asyncio[]]",
            "PASSED test_runners.py::test_anyio[[]trio[]]",
            "PASSED test_runners.py::test_pytest_asyncio",
            "PASSED test_runners.py::test_blocking_with_client_options",
            "*marianne_fake is for async tests; a blocking test uses marianne_sync_fake*",
        ]
    )


def test_the_fixtures_under_pytest_asyncio_auto_mode(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_auto=UNMARKED)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "asyncio_mode=auto")
    result.assert_outcomes(passed=1)


def test_pytest_lists_the_fixtures(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*fixtures defined from marianne_sdk.pytest_plugin*"])
    listed = result.stdout.str()
    for name in FIXTURES:
        assert f"\n{name} -- " in listed, name
