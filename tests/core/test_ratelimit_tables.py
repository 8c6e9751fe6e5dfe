"""Each app declares its limits once, in `<app>/ratelimits.py`; the API and the dashboard
count against the same named counters."""

import importlib
import importlib.util

import pytest
from django.apps import apps

from callmeback.ratelimit import Rate, RateLimit


def _tables() -> dict[str, list[RateLimit]]:
    """Every installed app's rate-limit table, found by convention."""
    tables = {}
    for config in apps.get_app_configs():
        module_name = f"{config.name}.ratelimits"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        tables[config.label] = [value for value in vars(module).values() if isinstance(value, RateLimit)]
    return tables


def test_the_apps_with_endpoints_have_a_rate_limit_table():
    assert {"accounts", "personas", "billing"} <= set(_tables())


def test_rate_limit_names_are_unique_and_carry_their_apps_prefix():
    names = [(label, limit.name) for label, limits in _tables().items() for limit in limits]

    assert len({name for _, name in names}) == len(names)
    assert all(name.startswith(f"{label}.") for label, name in names)


@pytest.mark.parametrize("limit", [limit for limits in _tables().values() for limit in limits], ids=str)
def test_every_declared_rate_parses(limit):
    assert Rate.parse(limit.rate).count > 0
    assert limit.anonymous is None or Rate.parse(limit.anonymous).count > 0
