"""Backtest pages: queue a run, the worker fills in results; charts, compare, cancel."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.trading.backtest_helpers import (  # noqa: F401
    candle_root,
    make_runner,
    run_kwargs,
    store_synthetic,
)
from trading.backtest_models import BacktestRun
from trading.services.backtests import backtest_create, backtest_execute
from trading.tasks_backtest import backtest_run_task

FORM = {
    "strategy": "sma_crossover",
    "series": "paper|BTC/USDT|1m",
    "since": "",
    "until": "",
    "fee_rate": "0.001",
    "slippage": "0",
    "starting_cash": "10000",
    "p-fast": "5",
    "p-slow": "20",
    "p-timeframe": "1m",
}


@pytest.fixture
def candles(candle_root):  # noqa: F811
    return store_synthetic(3000)


@pytest.fixture
def runner(client, alice):
    # alice may run bots and backtests, but neither trade by hand nor connect keys.
    alice = make_runner(alice)
    assert not alice.has_perm("accounts.place_orders")
    client.force_login(alice)
    return alice


def finished_run(user, **overrides):
    run = backtest_create(user=user, **run_kwargs(**overrides))
    backtest_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def test_a_runner_queues_a_backtest_and_the_worker_task_fills_in_its_results(
    client, runner, candles, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("trading:backtest_new"), FORM)
    run = BacktestRun.objects.get(user=runner)
    assert response.status_code == 302
    assert response["Location"] == reverse("trading:backtest_detail", args=[run.id])
    assert (run.status, run.params) == ("queued", {"fast": 5, "slow": 20, "timeframe": "1m"})
    assert len(queued) == 1  # the task is sent when the transaction commits
    assert AuditEvent.objects.filter(event_type="backtestrun.queue", target_id=str(run.id)).exists()

    page = client.get(reverse("trading:backtest_detail", args=[run.id]))
    assert b"Queued" in page.content and b"<progress" in page.content

    backtest_run_task(str(run.id))  # what the worker runs
    run.refresh_from_db()
    assert (run.status, run.progress) == ("done", 100)
    summary = run.result["summary"]
    assert summary["bars"] == 3000 and summary["trades"] > 0

    page = client.get(reverse("trading:backtest_detail", args=[run.id])).content.decode()
    for label in ("Total return", "CAGR", "Max drawdown", "Sharpe", "Sortino", "Win rate"):
        assert label in page
    assert "Exposure" in page and "Fees paid" in page
    assert f"{summary['trades']:,}" in page
    assert page.count('<td class="nowrap">') == 2 * min(summary["trades"], 5000)
    assert "Create bot from this backtest" in page


def test_the_chart_endpoint_serves_equity_candles_and_trade_markers(client, runner, candles):
    run = finished_run(runner)
    data = client.get(reverse("trading:backtest_chart", args=[run.id])).json()
    assert data["timeframe"] == "5m"  # 3,000 minutes fit the chart as 600 five-minute bars
    assert len(data["candles"]) == 600
    times = [point["time"] for point in data["equity"]]
    assert times == sorted(set(times)) and len(times) == 2000
    assert data["equity"][0]["value"] == pytest.approx(10_000)
    sides = {m["text"][0] for m in data["markers"]}
    assert sides == {"B", "S"}
    assert {m["shape"] for m in data["markers"]} == {"arrowUp", "arrowDown"}
    json.dumps(run.result, allow_nan=False)  # storable in PostgreSQL's jsonb


def test_the_status_partial_polls_while_running_and_reloads_the_page_when_done(
    client, runner, candles
):
    run = backtest_create(user=runner, **run_kwargs())
    url = reverse("trading:backtest_status", args=[run.id])
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in running.content and "HX-Refresh" not in running
    backtest_execute(run_id=run.pk)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"


def test_runs_compare_side_by_side_with_overlaid_returns(client, runner, candles):
    a = finished_run(runner)
    b = finished_run(runner, params={"fast": 10, "slow": 40, "timeframe": "1m"})
    page = client.get(reverse("trading:backtest_compare"), {"run": [a.id, b.id]})
    text = page.content.decode()
    assert page.status_code == 200
    assert "fast=5" in text and "fast=10" in text
    assert text.count('<tr><th scope="row">') == 10  # one row per statistic
    chart = client.get(reverse("trading:backtest_compare_chart"), {"run": [a.id, b.id]}).json()
    assert [len(s["points"]) for s in chart["series"]] == [2000, 2000]
    assert chart["series"][0]["points"][0]["value"] == pytest.approx(0.0)

    one = client.get(reverse("trading:backtest_compare"), {"run": [a.id]})
    assert one.status_code == 302  # two or more


def test_a_queued_run_is_cancelled_at_once_and_never_runs(client, runner, candles):
    run = backtest_create(user=runner, **run_kwargs())
    response = client.post(reverse("trading:backtest_cancel", args=[run.id]))
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert backtest_execute(run_id=run.pk) is None
    assert AuditEvent.objects.filter(
        event_type="backtestrun.cancel", target_id=str(run.id)
    ).exists()


def test_a_running_run_stops_at_its_next_cancel_check(runner, candles):
    run = backtest_create(user=runner, **run_kwargs())
    BacktestRun.objects.filter(pk=run.pk).update(cancel_requested=True)  # while the worker runs
    run = backtest_execute(run_id=run.pk)
    assert run.status == "cancelled" and run.result is None


def test_bad_parameters_and_missing_candles_are_refused_before_queueing(client, runner, candles):
    response = client.post(reverse("trading:backtest_new"), {**FORM, "p-fast": "30"})
    assert "shorter than the slow one" in response.content.decode()
    response = client.post(reverse("trading:backtest_new"), {**FORM, "series": "paper|ETH/USDT|1m"})
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert not BacktestRun.objects.exists()


def test_a_backtest_of_a_period_without_candles_fails_with_a_message(runner, candles):
    run = finished_run(
        runner, since=datetime(2025, 1, 1, tzinfo=UTC), until=datetime(2025, 1, 2, tzinfo=UTC)
    )
    assert (run.status, run.error) == ("failed", "No candles in the chosen period.")


def test_a_run_whose_worker_died_is_failed_after_the_time_limit(runner, candles):
    from datetime import timedelta

    from django.utils import timezone

    from trading.tasks_backtest import backtest_jobs_expire_task

    dead, alive = (backtest_create(user=runner, **run_kwargs()) for _ in range(2))
    BacktestRun.objects.filter(pk=dead.pk).update(
        status="running", started_at=timezone.now() - timedelta(hours=1)
    )
    BacktestRun.objects.filter(pk=alive.pk).update(status="running", started_at=timezone.now())
    assert backtest_jobs_expire_task() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == ("failed", "running")
    assert "worker running this job stopped" in dead.error


def test_the_list_shows_each_finished_runs_return_and_trades_without_loading_results(
    client, runner, candles, django_assert_max_num_queries
):
    from trading.services.backtest_reports import stat_text

    done = finished_run(runner)
    queued = backtest_create(user=runner, **run_kwargs())
    summary = done.result["summary"]
    with django_assert_max_num_queries(8):
        page = client.get(reverse("trading:backtest_list")).content.decode()
    rows = page.split("<tbody>")[1].split("</tbody>")[0].split("<tr>")[1:]
    by_id = {row.split("/backtests/")[1].split("/")[0]: row for row in rows if "/backtests/" in row}
    finished_row, queued_row = by_id[str(done.id)], by_id[str(queued.id)]
    assert f">{stat_text('total_return', summary['total_return'])}<" in finished_row
    assert f">{summary['trades']:,}<" in finished_row
    assert queued_row.count(">–<") == 2  # no figures before a run is done
    # The list reads the two figures in SQL; it never loads the stored trades and equity.
    from trading.selectors_backtests import backtests_for_user

    listed = backtests_for_user(user=runner).get(pk=done.pk)
    assert "result" in listed.get_deferred_fields()
    assert float(listed.summary_return) == pytest.approx(summary["total_return"])
