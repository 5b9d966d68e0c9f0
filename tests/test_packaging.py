"""The published artefacts: the wheel's contents and metadata, and the documentation site."""

from __future__ import annotations

import email.message
import email.parser
import html
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import marianne_sdk
from codegen import model

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schema" / "marianne.openrpc.json").read_text(encoding="utf-8"))
DIST_INFO = f"marianne_sdk-{marianne_sdk.__version__}.dist-info"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), ROOT],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [built] = out.glob("*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    return email.parser.Parser().parsestr(wheel.read(f"{DIST_INFO}/METADATA").decode())


def test_wheel_ships_the_package_typed_and_generated(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    generated = {f"marianne_sdk/_generated/{module}.py" for module in SCHEMA_MODULES}
    data = {"marianne_sdk/py.typed", "marianne_sdk/testing/conductor_config.json"}
    assert {*data, "marianne_sdk/cli/__init__.py", *generated} <= names
    assert {name.split("/")[0] for name in names} == {"marianne_sdk", DIST_INFO}


SCHEMA_MODULES = ("__init__", "enums", "methods", "models", "params", "registry")


def test_wheel_ships_the_license(wheel: zipfile.ZipFile, metadata: email.message.Message) -> None:
    license_text = wheel.read(f"{DIST_INFO}/licenses/LICENSE").decode()
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text
    assert "Version 2.0, January 2004" in license_text
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_metadata_classifiers(metadata: email.message.Message) -> None:
    classifiers = set(metadata.get_all("Classifier") or [])
    assert {
        "Typing :: Typed",
        "Framework :: AnyIO",
        "Framework :: AsyncIO",
        "Framework :: Trio",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
    } <= classifiers
    assert metadata["Requires-Python"] == ">=3.11"


def test_requirements_are_runtime_only_with_lower_bounds(metadata: email.message.Message) -> None:
    requirements = {
        requirement.name: requirement
        for requirement in map(Requirement, metadata.get_all("Requires-Dist") or [])
    }
    extras = {"trio": "trio", "opentelemetry-api": "otel", "opentelemetry-instrumentation": "otel"}
    assert set(requirements) == {"anyio", "msgspec", "sniffio", *extras}
    for requirement in requirements.values():
        assert [spec.operator for spec in requirement.specifier] == [">="], requirement
    assert sorted(metadata.get_all("Provides-Extra") or []) == ["otel", "trio"]
    for name, extra in extras.items():
        marker = requirements[name].marker
        assert marker is not None
        assert marker.evaluate({"extra": extra})
        assert not marker.evaluate({"extra": ""})


def test_long_description_is_for_users(metadata: email.message.Message) -> None:
    assert metadata["Description-Content-Type"] == "text/markdown"
    description = metadata.get_payload()
    assert isinstance(description, str)
    assert description.strip() == (ROOT / "README.pypi.md").read_text(encoding="utf-8").strip()
    assert "pip install marianne-sdk" in description
    assert "asyncio.run(main())" in description
    assert "trio.run(main)" in description
    assert "make " not in description  # the developers' workflow stays in README.md


def test_console_script(wheel: zipfile.ZipFile) -> None:
    entry_points = wheel.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert "[console_scripts]\nmarianne-sdk = marianne_sdk.cli:main" in entry_points
    assert (
        "[opentelemetry_instrumentor]\n"
        "marianne_sdk = marianne_sdk.instrumentation:MarianneInstrumentor"
    ) in entry_points


def test_wheel_contents_import_with_their_version(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    wheel.extractall(tmp_path)
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import marianne_sdk, marianne_sdk.cli; "
        "from marianne_sdk.testing._conductor import _default_config; _default_config(); "
        "print(marianne_sdk.__file__); print(marianne_sdk.__version__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    location, version = result.stdout.splitlines()
    assert Path(location).is_relative_to(tmp_path)
    assert version == marianne_sdk.__version__


# --- the documentation site ---------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mkdocs", reason="the docs dependency group is not installed")
    out = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""},
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    return out


def shown_text(page: str) -> str:
    """What a reader sees of an HTML page: its text without tags."""
    return html.unescape(re.sub(r"<[^>]*>", "", page))


def test_method_reference_has_a_section_per_schema_method(site: Path) -> None:
    page = (site / "reference" / "methods" / "index.html").read_text(encoding="utf-8")
    sections = re.split(r'<h3 id="', page)[1:]
    by_anchor = {section.split('"', 1)[0]: shown_text(section) for section in sections}
    protocol = model.build(SCHEMA)
    for method in protocol.methods:
        text = by_anchor[method.name.replace(".", "-")]
        assert f"client.{method.python_name}(" in text
        for param in method.params:
            assert param.name in text
        for error in method.errors:
            assert str(error.code) in text
    assert len(by_anchor) == len(protocol.methods)
    # Schema text is shown as written, not read as HTML.
    assert "Job '<id>' not found" in by_anchor["job-status"]


def test_type_reference_has_a_section_per_schema_type(site: Path) -> None:
    page = (site / "reference" / "types" / "index.html").read_text(encoding="utf-8")
    for name in SCHEMA["components"]["schemas"]:
        assert f'id="{name}"' in page, name


def test_guides_and_api_reference_are_built(site: Path) -> None:
    for page in (
        "getting-started",
        "guides/asyncio",
        "guides/trio",
        "guides/blocking",
        "guides/streams",
        "guides/errors-and-retries",
        "guides/sharing-the-conductor",
        "guides/testing",
        "guides/command-line",
        "guides/regenerating",
    ):
        assert (site / page / "index.html").is_file(), page
    client = (site / "reference" / "client" / "index.html").read_text(encoding="utf-8")
    assert 'id="marianne_sdk.DaemonClient.call"' in client
    errors = (site / "reference" / "errors" / "index.html").read_text(encoding="utf-8")
    for name in SCHEMA["x-error-exceptions"].values():
        assert f'id="marianne_sdk._errors.{name}"' in errors
    assert ":class:" not in client + errors
