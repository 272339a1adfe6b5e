"""Settings from environment, TOML file and overrides; a bad one stops start-up by name."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sellerdesk.core.config import Settings, load_settings
from sellerdesk.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SELLERDESK_* (or bare DATABASE_URL/REDIS_URL) from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("SELLERDESK_") or name.upper() in (
            "DATABASE_URL", "REDIS_URL"
        ):
            monkeypatch.delenv(name)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sellerdesk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings()

    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.log_level == "info"
    assert settings.data_dir == Path("data")
    db_file = tmp_path / "data" / "sellerdesk.db"
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{db_file}"
    assert settings.is_sqlite is True
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.blob_dir == Path("data") / "blobs"
    assert settings.redis_url is None


def test_environment_variables_are_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SELLERDESK_PORT", "9123")
    monkeypatch.setenv("SELLERDESK_HOST", "10.1.2.3")
    monkeypatch.setenv("SELLERDESK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SELLERDESK_LOG_LEVEL", "debug")
    monkeypatch.setenv("SELLERDESK_DEMO_ON_FIRST_RUN", "false")
    monkeypatch.setenv("SELLERDESK_BASE_URL", "https://help.example.com")
    monkeypatch.setenv("SELLERDESK_JOB_BACKOFF_SECONDS", "0.5")

    settings = load_settings()

    assert settings.port == 9123
    assert settings.host == "10.1.2.3"
    assert settings.data_dir == tmp_path
    assert settings.log_level == "debug"
    assert settings.demo_on_first_run is False
    assert settings.public_url == "https://help.example.com"
    assert settings.job_backoff_seconds == 0.5
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path / 'sellerdesk.db'}"


@pytest.mark.parametrize("name", ["DATABASE_URL", "SELLERDESK_DATABASE_URL"])
def test_database_url_from_environment_is_normalised(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, "postgresql://desk:pw@db.internal:5432/desk")

    settings = load_settings()

    assert settings.database_url == "postgresql+asyncpg://desk:pw@db.internal:5432/desk"
    assert settings.resolved_database_url == settings.database_url
    assert settings.is_sqlite is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgres://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("postgresql+asyncpg://u@h/d", "postgresql+asyncpg://u@h/d"),
        ("sqlite+aiosqlite:////srv/desk.db", "sqlite+aiosqlite:////srv/desk.db"),
    ],
)
def test_database_url_forms(given: str, expected: str) -> None:
    assert load_settings(database_url=given).resolved_database_url == expected


def test_redis_url_from_bare_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")

    assert load_settings().redis_url == "redis://cache:6379/0"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"port": 99999}, "'port'"),
        ({"port": 0}, "'port'"),
        ({"database_url": "mysql://x"}, "'database_url'"),
        ({"log_level": "loud"}, "'log_level'"),
        ({"redis_url": "http://cache"}, "'redis_url'"),
        ({"worker_threads": 0}, "'worker_threads'"),
        ({"job_backoff_seconds": 0}, "'job_backoff_seconds'"),
        ({"max_attachment_bytes": 10}, "'max_attachment_bytes'"),
    ],
)
def test_bad_value_raises_config_error_naming_the_setting(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)

    assert str(caught.value).startswith(f"setting {named}: ")


def test_bad_environment_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERDESK_PORT", "abc")

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert str(caught.value) == (
        "setting 'port': Input should be a valid integer, unable to parse string as an integer"
    )


def test_bad_bare_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://x")

    with pytest.raises(ConfigError, match="DATABASE_URL'.*must start with postgresql://"):
        load_settings()


def test_every_bad_setting_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(port=-1, log_level="loud")

    message = str(caught.value)
    assert "setting 'port'" in message
    assert "setting 'log_level'" in message


def test_settings_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, 'port = 9001\nlog_level = "warning"\n'
                                f'data_dir = "{tmp_path / "d"}"\n')
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))

    settings = load_settings()

    assert settings.port == 9001
    assert settings.log_level == "warning"
    assert settings.data_dir == tmp_path / "d"


def test_settings_file_may_use_a_sellerdesk_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, '[sellerdesk]\nport = 9002\ndatabase_url = "postgresql://u@h/d"\n')
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))

    settings = load_settings()

    assert settings.port == 9002
    assert settings.database_url == "postgresql+asyncpg://u@h/d"


def test_environment_wins_over_file_and_overrides_win_over_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, 'port = 9001\nhost = "10.0.0.1"\nlog_level = "warning"\n')
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))
    monkeypatch.setenv("SELLERDESK_PORT", "9100")
    monkeypatch.setenv("SELLERDESK_HOST", "10.0.0.2")

    settings = load_settings(host="10.0.0.3")

    assert settings.port == 9100
    assert settings.host == "10.0.0.3"
    assert settings.log_level == "warning"


def test_bare_database_url_in_environment_wins_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, 'database_url = "sqlite+aiosqlite:////srv/file.db"\n')
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@env/d")

    assert load_settings().database_url == "postgresql+asyncpg://u@env/d"


def test_unknown_key_in_settings_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, 'port = 9001\ncolour = "blue"\n')
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert str(caught.value) == "setting 'colour': Extra inputs are not permitted"


def test_bad_value_in_settings_file_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(tmp_path, "port = 99999\n")
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))

    with pytest.raises(ConfigError, match=r"^setting 'port': "):
        load_settings()


def test_missing_settings_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.toml"
    monkeypatch.setenv("SELLERDESK_CONFIG", str(missing))

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert str(caught.value) == f"SELLERDESK_CONFIG: no such settings file: {missing}"


def test_invalid_toml_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, "port = = 1\n")
    monkeypatch.setenv("SELLERDESK_CONFIG", str(path))

    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML: "):
        load_settings()


def test_secret_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "fresh")

    first = settings.resolved_secret_key()
    second = settings.resolved_secret_key()
    again = load_settings(data_dir=tmp_path / "fresh").resolved_secret_key()

    path = tmp_path / "fresh" / "secret_key"
    assert first == second == again
    assert len(first) >= 64
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == ["secret_key"]


def test_other_data_folder_gets_another_secret_key(tmp_path: Path) -> None:
    one = load_settings(data_dir=tmp_path / "one").resolved_secret_key()
    two = load_settings(data_dir=tmp_path / "two").resolved_secret_key()

    assert one != two


def test_configured_secret_key_wins_and_writes_nothing(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key="from-env")

    assert settings.resolved_secret_key() == "from-env"
    assert not (tmp_path / "secret_key").exists()


def test_settings_are_immutable_by_extra_fields() -> None:
    with pytest.raises(ConfigError, match="setting 'no_such_setting'"):
        load_settings(no_such_setting=1)
    assert isinstance(load_settings(), Settings)
