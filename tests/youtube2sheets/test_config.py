"""Settings: one table of options, read from ``Y2S_*`` variables, handed to workers and back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from youtube2sheets.config import OPTIONS, ConfigError, Settings


def test_every_settings_field_has_exactly_one_option() -> None:
    assert [o.field for o in OPTIONS] == [f.name for f in dataclasses.fields(Settings)]


def test_no_variables_give_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_variables_are_parsed_into_their_types() -> None:
    env = {
        "Y2S_WORKERS": "2",
        "Y2S_CACHE_TTL": "1.5",
        "Y2S_STATE_DIR": "/srv/y2s",
        "Y2S_INSTRUMENTATION": "no",
    }
    settings = Settings.from_env(env)
    assert (settings.workers, settings.cache_ttl, settings.state_dir, settings.instrumentation) == (
        2,
        1.5,
        Path("/srv/y2s"),
        False,
    )


def test_the_no_flag_has_its_variable_too() -> None:
    assert Settings.from_env({"Y2S_NO_INSTRUMENTATION": "1"}).instrumentation is False


def test_the_plain_variable_wins_over_the_negated_one() -> None:
    assert (
        Settings.from_env({"Y2S_INSTRUMENTATION": "1", "Y2S_NO_INSTRUMENTATION": "1"}).instrumentation is True
    )


def test_settings_survive_the_trip_through_the_environment() -> None:
    settings = Settings(port=9000, workers=3, state_dir=Path("/tmp/s"), api_key="k", instrumentation=False)
    assert Settings.from_env(settings.to_env()) == settings


def test_the_state_files_live_in_the_state_directory() -> None:
    settings = Settings(state_dir=Path("/srv/y2s"))
    assert (settings.database, settings.quota_ledger, settings.metrics_dir) == (
        Path("/srv/y2s/y2s.db"),
        Path("/srv/y2s/quota.json"),
        Path("/srv/y2s/metrics"),
    )


def test_a_trailing_slash_is_dropped_from_the_api_url() -> None:
    assert Settings.from_env({"Y2S_YOUTUBE_URL": "http://127.0.0.1:8001/youtube/v3/"}).youtube_url == (
        "http://127.0.0.1:8001/youtube/v3"
    )


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("Y2S_PORT", "0", "a TCP port"),
        ("Y2S_PORT", "http", "a TCP port"),
        ("Y2S_WORKERS", "-1", "worker processes"),
        ("Y2S_DAILY_QUOTA", "1e3", "quota units"),
        ("Y2S_CACHE_TTL", "inf", "seconds > 0"),
        ("Y2S_CACHE_SIZE", "0", "entries"),
        ("Y2S_YOUTUBE_URL", "127.0.0.1:8001", "http(s) URL"),
        ("Y2S_API_KEY", " ", "non-empty"),
        ("Y2S_INSTRUMENTATION", "maybe", "1/true/yes/on"),
        ("Y2S_LOG_LEVEL", "loud", "one of critical"),
        ("Y2S_NO_INSTRUMENTATION", "2", "1/true/yes/on"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(variable: str, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: text})
    message = str(caught.value)
    assert message.startswith(f"{variable} {text!r}: expected")
    assert expected in message
    assert "\n" not in message
