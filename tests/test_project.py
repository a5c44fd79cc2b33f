"""Project-level facts: documentation that stays true and the layering rules."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from booking.domain.catalogue import Catalogue
from booking.errors import ConfigError
from booking.settings import Settings

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_configuration_table_lists_every_setting_with_its_default():
    """Each setting appears in the README table with its real default, and nothing extra."""
    cells = re.findall(r"^\| `([A-Z_]+)` \| (`[^`]*`|\*\(empty\)\*) \|", README, flags=re.M)
    rows = {env: default.strip("`").replace("*(empty)*", "") for env, default in cells}
    assert rows == {s["env"]: str(s["default"]) for s in Settings.describe()}


def test_ci_runs_exactly_the_readme_test_command():
    """`.ci/run` ends with the README's test command, word for word."""
    blocks = re.findall(r"```bash\n(.+?)\n```", README, flags=re.S)
    test_command = next(b for b in blocks if "pytest" in b)
    assert (ROOT / ".ci/run").read_text().rstrip().endswith(test_command)


def test_importing_booking_never_loads_streamlit():
    """booking/ is the pure package: importing all of it, every sub-package's module
    included, must not pull in streamlit."""
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted((ROOT / "booking").rglob("*.py"))
    ]
    assert len(modules) > 40  # the walk goes down into the sub-packages
    code = f"import sys; import {', '.join(modules)}; print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("page", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_hold_no_sql_http_or_clock(page):
    """Pages stay thin: no sqlite, HTTP clients or reading the clock."""
    tree = ast.parse(page.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert not imported & {"sqlite3", "sqlite_utils", "requests", "httpx", "urllib"}
    assert "datetime.now" not in page.read_text() and ".execute(" not in page.read_text()


def test_the_shipped_catalogue_is_valid():
    """data/analysts.toml loads: a Calendly analyst and at least two local ones."""
    catalogue = Catalogue.load(ROOT / "data/analysts.toml")
    providers = [a.provider for a in catalogue.analysts]
    assert providers.count("calendly") >= 1 and providers.count("local") >= 2


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[analysts]]\nslug = "x"\nname = "X"\nprovider = "local"\ntimezone = "Mars/Base"',
            "analyst 'x', field 'timezone'",
        ),
        (
            '[[analysts]]\nslug = "x"\nname = "X"\nprovider = "local"\ntimezone = "UTC"\n'
            'hours.mon = ["9-5"]\n[[analysts.meeting_types]]\n'
            'id="a"\nname="A"\nduration_minutes=30',
            "analyst 'x', field 'hours'",
        ),
        (
            '[[analysts]]\nslug = "x"\nname = "X"\nprovider = "local"\ntimezone = "UTC"\n'
            '[[analysts.meeting_types]]\nid="a"\nname="A"\nduration_minutes=0',
            "analyst 'x', field 'meeting_types[0].duration_minutes'",
        ),
        (
            '[[analysts]]\nslug = "x"\nname = "X"\nprovider = "zoom"\ntimezone = "UTC"',
            "analyst 'x', field 'provider'",
        ),
        (
            '[[analysts]]\nname = "Nameless"\nprovider = "local"\ntimezone = "UTC"',
            "analyst 'Nameless', field 'slug'",
        ),
        ("[[analysts]\nslug=", "not valid TOML"),
    ],
)
def test_a_malformed_catalogue_names_the_file_the_analyst_and_the_field(tmp_path, toml, message):
    """Start-up errors point at exactly what to fix."""
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as exc:
        Catalogue.load(path)
    assert str(exc.value).startswith(str(path))
    assert message in str(exc.value)


def test_the_app_refuses_to_start_on_a_broken_catalogue(tmp_path):
    """`app.py` exits with the catalogue message instead of a traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text('[[analysts]]\nslug = "x"\nname = "X"\nprovider = "local"\ntimezone = "Nope"')
    out = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "BOOKING_CATALOGUE": str(bad),
            "BOOKING_DB_PATH": str(tmp_path / "x.db"),
            "PATH": "/usr/bin:/bin",
        },
    )
    assert out.returncode == 1
    assert "Booking Desk cannot start" in out.stderr and "field 'timezone'" in out.stderr
    assert "Traceback" not in out.stderr


def test_settings_come_from_the_environment_and_bad_ones_are_explained():
    """Environment variables override defaults; a bad zone is a ConfigError."""
    s = Settings.from_env({"BOOKING_BRAND_NAME": "Acme Research", "BOOKING_DB_PATH": "/x.db"})
    assert (s.brand_name, s.db_path, s.default_timezone) == (
        "Acme Research",
        "/x.db",
        "Europe/London",
    )
    with pytest.raises(ConfigError, match="BOOKING_DEFAULT_TIMEZONE"):
        Settings.from_env({"BOOKING_DEFAULT_TIMEZONE": "Moon/Crater"})


def test_the_code_is_ruff_clean():
    """Lint and format rules hold for the whole tree."""
    for args in (["check", "."], ["format", "--check", "."]):
        out = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stdout + out.stderr


def test_there_is_no_pages_folder_beside_the_entry_script():
    """Streamlit serves a `pages/` folder by URL on its own, outside st.navigation; that would
    let anyone open the owner's page directly, so the screens live in app_pages/."""
    assert not (ROOT / "pages").exists()
    assert (ROOT / "app_pages" / "analytics.py").exists()


def test_secrets_file_settings_reach_the_api_and_the_pages_share_the_servers_desk(tmp_path):
    """A brand set only in .streamlit/secrets.toml names the API too (the server reads the
    settings once), and the pages get the very desk app.py built."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit/secrets.toml").write_text('BOOKING_BRAND_NAME = "Acme Research"\n')
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import app, ui_kit\n"
        "from starlette.applications import Starlette\n"
        "from starlette.testclient import TestClient\n"
        "from booking.web.routes import create_routes\n"
        "api = TestClient(Starlette(routes=create_routes(app.desk)))\n"
        "print(api.get('/api/openapi.json').json()['info']['title'])\n"
        "print(ui_kit.desk() is app.desk)\n"
    )
    env = {
        **os.environ,
        "BOOKING_CATALOGUE": str(ROOT / "data/analysts.toml"),
        "BOOKING_DB_PATH": str(tmp_path / "s.db"),
    }
    env.pop("BOOKING_BRAND_NAME", None)
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-3:-1] == ["Acme Research API", "True"]


def test_a_secret_wins_over_the_environment_as_in_streamlit(tmp_path):
    """Settings.load overlays the secrets files (later ones win) on the environment."""
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('BOOKING_BRAND_NAME = "From A"\nBOOKING_HOLD_MINUTES = 7\n')
    second.write_text('BOOKING_BRAND_NAME = "From B"\n[auth]\nclient_id = "x"\n')
    env = {"BOOKING_BRAND_NAME": "From env", "BOOKING_OWNER_EMAILS": "o@example.com"}
    s = Settings.load(env, secret_files=(first, second, tmp_path / "missing.toml"))
    assert (s.brand_name, s.hold_minutes, s.owner_emails) == ("From B", 7, "o@example.com")
