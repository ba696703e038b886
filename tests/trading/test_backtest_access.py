"""Backtesting is owner-scoped: someone else's run, sweep or download is a 404, and audited."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.trading.backtest_helpers import (  # noqa: F401
    candle_root,
    make_runner,
    run_kwargs,
    store_synthetic,
)
from trading.backtest_models import BacktestRun, CandleDownload, SweepRun
from trading.services.backtests import backtest_create, backtest_execute, sweep_create


@pytest.fixture
def alices_jobs(alice, candle_root):  # noqa: F811
    alice = make_runner(alice)
    store_synthetic(1500)
    run = backtest_create(user=alice, **run_kwargs())
    backtest_execute(run_id=run.pk)
    kwargs = run_kwargs()
    del kwargs["params"]
    sweep = sweep_create(
        user=alice, base_params={"timeframe": "1m"}, grid={"fast": [5, 10]}, **kwargs
    )
    download = CandleDownload.objects.create(
        user=alice,
        exchange="paper",
        symbol="BTC/USDT",
        timeframe="1h",
        since=kwargs["since"],
        until=kwargs["until"],
    )
    return run, sweep, download


def outsider_urls(run, sweep, download):
    return [
        ("get", reverse("trading:backtest_detail", args=[run.id])),
        ("get", reverse("trading:backtest_status", args=[run.id])),
        ("get", reverse("trading:backtest_chart", args=[run.id])),
        ("post", reverse("trading:backtest_cancel", args=[run.id])),
        ("get", reverse("trading:backtest_compare") + f"?run={run.id}&run={run.id}"),
        ("get", reverse("trading:backtest_compare_chart") + f"?run={run.id}"),
        ("get", reverse("trading:sweep_detail", args=[sweep.id])),
        ("get", reverse("trading:sweep_status", args=[sweep.id])),
        ("post", reverse("trading:sweep_cancel", args=[sweep.id])),
        ("get", reverse("trading:candle_download_detail", args=[download.id])),
        ("get", reverse("trading:candle_download_status", args=[download.id])),
        ("post", reverse("trading:candle_download_cancel", args=[download.id])),
    ]


def test_an_outsider_gets_404_everywhere_and_each_attempt_is_audited(client, charlie, alices_jobs):
    client.force_login(charlie)
    urls = outsider_urls(*alices_jobs)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
    denied = AuditEvent.objects.filter(event_type="access.denied", actor_id=charlie.pk)
    assert denied.count() == len(urls)
    run, sweep, download = alices_jobs
    assert not BacktestRun.objects.filter(cancel_requested=True).exists()
    assert SweepRun.objects.get(pk=sweep.pk).status == "queued"
    assert CandleDownload.objects.get(pk=download.pk).status == "queued"


def test_lists_show_only_the_users_own_jobs(client, alice, bob, alices_jobs):
    client.force_login(bob)
    page = client.get(reverse("trading:backtest_list")).content.decode()
    assert "No backtests yet." in page and "No sweeps yet." in page
    client.force_login(alice)
    page = client.get(reverse("trading:backtest_list")).content.decode()
    assert str(alices_jobs[0].id) in page and str(alices_jobs[1].id) in page


def test_pages_need_a_login(client, alices_jobs):
    response = client.get(reverse("trading:backtest_detail", args=[alices_jobs[0].id]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_malformed_id_in_a_comparison_is_a_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("trading:backtest_compare"), {"run": ["x", "y"]}).status_code == 404
