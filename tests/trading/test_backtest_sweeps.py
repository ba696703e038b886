"""Sweep pages: a grid of parameters queued, run by the worker, a sortable table and a heat map."""

import re

import pytest
from django.urls import reverse

from tests.trading.backtest_helpers import (  # noqa: F401
    candle_root,
    make_runner,
    run_kwargs,
    store_synthetic,
)
from trading.backtest_models import SweepRun
from trading.services.backtests import sweep_create, sweep_execute, sweep_workers

FORM = {
    "strategy": "sma_crossover",
    "series": "paper|BTC/USDT|1m",
    "fee_rate": "0.001",
    "slippage": "0",
    "starting_cash": "10000",
    "g-fast": "5, 10, 30",
    "g-slow": "20..40 step 20",
    "g-timeframe": "1m",
}


@pytest.fixture
def candles(candle_root):  # noqa: F811
    return store_synthetic(3000)


@pytest.fixture
def runner(client, alice):
    alice = make_runner(alice)
    client.force_login(alice)
    return alice


def sweep_kwargs(**overrides):
    kwargs = run_kwargs()
    del kwargs["params"]
    return {
        **kwargs,
        "base_params": {"timeframe": "1m"},
        "grid": {"fast": [5, 10, 30], "slow": [20, 40]},
        **overrides,
    }


def test_a_sweep_form_queues_every_combination_of_the_values_given(
    client, runner, candles, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("trading:sweep_new"), FORM)
    sweep = SweepRun.objects.get(user=runner)
    assert response["Location"] == reverse("trading:sweep_detail", args=[sweep.id])
    assert sweep.grid == {"fast": [5, 10, 30], "slow": [20, 40]}
    assert sweep.base_params == {"timeframe": "1m"}
    assert (sweep.combinations, len(queued)) == (6, 1)


def test_a_finished_sweep_shows_a_heat_map_with_a_number_in_every_cell(client, runner, candles):
    sweep = sweep_create(user=runner, **sweep_kwargs())
    sweep = sweep_execute(sweep_id=sweep.pk, workers=0)
    assert (sweep.status, len(sweep.rows)) == ("done", 6)
    page = client.get(reverse("trading:sweep_detail", args=[sweep.id])).content.decode()
    heatmap = page[page.index('<table class="heatmap">') : page.index("</table>")]
    cells = re.findall(r'<td class="num (hm-[a-z0-9-]+)">([^<]+)</td>', heatmap)
    assert len(cells) == 6
    # fast 30 / slow 20 is invalid: marked n/a in text, not only by its hatching.
    assert ("hm-none", "n/a") in cells
    for css, text in cells:
        if css.startswith("hm-pos"):
            assert text.startswith("+")
        if css.startswith("hm-neg"):
            assert text.startswith("-")


def test_the_table_sorts_by_any_statistic_either_way(client, runner, candles):
    sweep = sweep_execute(sweep_id=sweep_create(user=runner, **sweep_kwargs()).pk, workers=0)
    valid = [row for row in sweep.rows if not row["error"]]
    url = reverse("trading:sweep_detail", args=[sweep.id])
    page = client.get(url, {"sort": "trades", "dir": "asc"}).content.decode()
    assert 'aria-sort="ascending"' in page
    table = page[page.index('id="table-title"') :]
    rows = [re.findall(r'<td class="num">([^<]*)</td>', tr) for tr in table.split("<tr>")[2:]]
    trades_column = 2 + 8  # fast, slow, then the 9th statistic
    shown = [int(cells[trades_column].replace(",", "")) for cells in rows if len(cells) > 3]
    assert len(shown) == len(valid) == 5
    assert shown == sorted(row["trades"] for row in valid)


def test_sweeps_run_in_this_process_inside_a_daemonic_worker(monkeypatch):
    import multiprocessing

    class Daemonic:
        daemon = True

    assert sweep_workers() is None  # a test process may start a pool
    monkeypatch.setattr(multiprocessing, "current_process", lambda: Daemonic())
    assert sweep_workers() == 0


def test_a_cancelled_sweep_stops_and_keeps_no_rows(runner, candles):
    sweep = sweep_create(user=runner, **sweep_kwargs())
    SweepRun.objects.filter(pk=sweep.pk).update(cancel_requested=True)
    sweep = sweep_execute(sweep_id=sweep.pk, workers=0)
    assert (sweep.status, sweep.rows) == ("cancelled", None)


def test_a_grid_of_one_value_or_too_many_combinations_is_refused(runner, candles):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="two or more values"):
        sweep_create(user=runner, **sweep_kwargs(grid={"fast": [5]}))
    with pytest.raises(ValidationError, match="more than 400"):
        sweep_create(
            user=runner,
            **sweep_kwargs(grid={"fast": list(range(1, 30)), "slow": list(range(31, 50))}),
        )
