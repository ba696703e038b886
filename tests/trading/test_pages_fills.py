"""Fills: filters, pagination, totals, a live first page and a streamed CSV of the filtered set."""

import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.http import QueryDict
from django.utils import timezone

from tests.trading.bot_helpers import new_bot
from tests.trading.conftest import paper_key_for
from tests.trading.factories import FillFactory
from tests.trading.pages import login, make_viewer
from trading.forms_dashboard import FillFilterForm
from trading.models import OrderIntent
from trading.views.fills import PER_PAGE

pytestmark = pytest.mark.django_db


def at(day: int, hour: int = 12):
    return datetime(2026, 3, day, hour, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture
def fills(trader, alice_key):
    second = paper_key_for(trader, api_key="SECONDkey0123456789abcdef")
    return {
        "buy_btc": FillFactory(
            key=alice_key,
            side="buy",
            amount=Decimal("0.1"),
            price=Decimal("20000"),
            executed_at=at(1),
        ),
        "sell_btc": FillFactory(
            key=alice_key,
            side="sell",
            amount=Decimal("0.05"),
            price=Decimal("22000"),
            executed_at=at(2),
        ),
        "buy_eth": FillFactory(
            key=alice_key,
            symbol="ETH/USDT",
            amount=Decimal("2"),
            price=Decimal("1500"),
            fee=Decimal("0.002"),
            fee_currency="ETH",
            executed_at=at(3),
        ),
        "second_key": FillFactory(key=second, executed_at=at(4)),
    }


def ids(response) -> set[int]:
    page = response.content.decode()
    return {int(part.split('"')[0]) for part in page.split('id="fill-')[1:]}


def test_every_filter_narrows_the_list(trader, alice_key, fills):
    client = login(trader)
    f = {name: row.pk for name, row in fills.items()}
    assert ids(client.get("/fills/")) == set(f.values())
    assert ids(client.get(f"/fills/?key={alice_key.pk}")) == {
        f["buy_btc"],
        f["sell_btc"],
        f["buy_eth"],
    }
    assert ids(client.get("/fills/?symbol=ETH-USDT")) == {f["buy_eth"]}
    assert ids(client.get("/fills/?side=sell")) == {f["sell_btc"]}
    assert ids(client.get("/fills/?date_from=2026-03-02&date_to=2026-03-03")) == {
        f["sell_btc"],
        f["buy_eth"],
    }


def test_a_reversed_date_range_is_a_form_error(trader, fills):
    response = login(trader).get("/fills/?date_from=2026-03-05&date_to=2026-03-01")
    assert response.status_code == 400
    assert "end date is before the start date" in response.content.decode()
    assert ids(response) == set()


def test_totals_cover_the_filtered_set_per_symbol_side_and_fee_currency(trader, alice_key, fills):
    page = login(trader).get(f"/fills/?key={alice_key.pk}").content.decode()
    # The header's user menu is a <details> too: the totals are the open one in the page.
    totals = page.split("<details open>")[1].split("</details>")[0]
    assert "Totals for these 3 fills" in totals
    assert "0.10000000" in totals and "2,000.00" in totals  # BTC buy: qty, notional
    assert "0.05000000" in totals and "1,100.00" in totals  # BTC sell
    # Fees per currency: 2.00 + 1.10 USDT (0.1% of notional), 0.002 ETH.
    assert "3.10000000</span> USDT" in totals and "0.00200000</span> ETH" in totals


def test_pages_of_fifty_newest_first(trader, alice_key):
    start = timezone.now() - timedelta(days=1)
    rows = [
        FillFactory(key=alice_key, executed_at=start + timedelta(seconds=i))
        for i in range(PER_PAGE + 5)
    ]
    client = login(trader)
    first, second = client.get("/fills/"), client.get("/fills/?page=2")
    assert ids(first) == {r.pk for r in rows[5:]}
    assert ids(second) == {r.pk for r in rows[:5]}
    assert "Page 2 of 2" in second.content.decode()
    # Only the first page polls for new fills (the header's notification bell polls on every page).
    polling = 'id="fills-rows" hx-get'
    assert polling in first.content.decode() and polling not in second.content.decode()


def test_the_live_rows_include_a_fill_stored_after_the_page_loaded(trader, alice_key, fills):
    client = login(trader)
    assert (
        'hx-get="/fills/live/?symbol=BTC%2FUSDT"'
        in client.get("/fills/?symbol=BTC%2FUSDT").content.decode()
    )
    new = FillFactory(key=alice_key, price=Decimal("33333"))
    live = client.get("/fills/live/?symbol=BTC%2FUSDT")
    assert new.pk in ids(live) and fills["buy_eth"].pk not in ids(live)
    assert "<html" not in live.content.decode()


def test_csv_export_streams_the_filtered_set_with_full_precision(trader, fills):
    response = login(trader).get("/fills/export.csv?symbol=BTC/USDT&side=buy")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["trade_id"] for r in rows} == {
        fills["buy_btc"].trade_id,
        fills["second_key"].trade_id,
    }
    btc = next(r for r in rows if r["trade_id"] == fills["buy_btc"].trade_id)
    assert Decimal(btc["amount"]) == Decimal("0.1") and Decimal(btc["cost"]) == Decimal("2000")
    assert btc["executed_at"] == "2026-03-01T12:00:00+00:00"


def test_a_viewer_sees_fills(bob):
    viewer, key = make_viewer(bob)
    fill = FillFactory(key=key)
    assert fill.pk in ids(login(viewer).get("/fills/"))


def test_an_outsider_never_sees_alices_fills_and_gets_404_filtering_by_her_key(
    alice_key, fills, outsider
):
    charlie, _ = outsider
    client = login(charlie)
    assert ids(client.get("/fills/")) == set()
    assert ids(client.get("/fills/live/")) == set()
    rows = b"".join(client.get("/fills/export.csv").streaming_content).decode().splitlines()
    assert len(rows) == 1  # the header only
    for url in ("/fills/", "/fills/live/", "/fills/export.csv"):
        assert client.get(f"{url}?key={alice_key.pk}").status_code == 404


def test_fills_of_several_keys_are_paged_in_one_time_order(trader, alice_key):
    second = paper_key_for(trader, api_key="SECONDkey0123456789abcdef")
    start = timezone.now() - timedelta(days=1)
    rows = [
        FillFactory(key=(alice_key, second)[i % 2], executed_at=start + timedelta(seconds=i))
        for i in range(PER_PAGE + 10)
    ]
    second_page = login(trader).get("/fills/?page=2").content.decode()
    order = [int(p.split('"')[0]) for p in second_page.split('id="fill-')[1:]]
    assert order == [r.pk for r in reversed(rows[:10])]


def test_labels_and_symbols_are_escaped_in_rows(trader, alice_key):
    from accounts.models import ExchangeKey

    ExchangeKey.objects.filter(pk=alice_key.pk).update(label="<script>x</script>")
    FillFactory(key=alice_key)
    page = login(trader).get("/fills/").content.decode()
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page


@pytest.mark.parametrize("query", ["", "symbol=ETH-USDT&", "side=sell&date_from=2026-03-02&"])
def test_deep_pages_skip_whole_days_and_show_what_a_full_sort_would(
    trader, alice_key, query, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from trading.models import Fill
    from trading.selectors_dashboard import FillsPage
    from trading.services.fill_totals import fill_totals_rebuild

    second = paper_key_for(trader, api_key="SECONDkey0123456789abcdef")
    Fill.objects.bulk_create(
        Fill(
            key=(alice_key, second)[i % 3 == 0],
            trade_id=str(i),
            exchange_order_id=str(i),
            symbol=("BTC/USDT", "ETH/USDT")[i % 2],
            side=("buy", "sell")[i % 5 == 0],
            price=Decimal("100"),
            amount=Decimal("1"),
            cost=Decimal("100"),
            fee=Decimal("0.1"),
            fee_currency="USDT",
            # 400 fills over five days, several per second at times (ties broken by id)
            executed_at=at(1) + timedelta(seconds=(i * 997) % 430_000),
        )
        for i in range(400)
    )
    fill_totals_rebuild(key_id=alice_key.pk)
    fill_totals_rebuild(key_id=second.pk)
    monkeypatch.setattr(FillsPage, "DEEP", 2 * PER_PAGE)  # pages 3 and later skip days
    fills = Fill.objects.order_by("-executed_at", "-pk")
    if "ETH" in query:
        fills = fills.filter(symbol="ETH/USDT")
    if "sell" in query:
        fills = fills.filter(side="sell", executed_at__gte=at(2, 0))
    expected = list(fills.values_list("pk", flat=True))
    busiest_day = max(
        Counter(t.date() for t in fills.values_list("executed_at", flat=True)).values()
    )
    client = login(trader)
    for page in range(1, -(-len(expected) // PER_PAGE) + 1):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/fills/?{query}page={page}")
        shown = [int(p.split('"')[0]) for p in response.content.decode().split('id="fill-')[1:]]
        assert shown == expected[(page - 1) * PER_PAGE : page * PER_PAGE], page
        # A deep page reads at most a day's fills and a page per key, not every newer fill.
        limits = [
            int(re.search(r"LIMIT (\d+)", q["sql"]).group(1))
            for q in captured
            if q["sql"].startswith('SELECT "trading_fill"."executed_at"')
        ]
        if page > 2:
            assert limits and max(limits) <= busiest_day + PER_PAGE, (page, limits)


def test_the_bot_filter_lists_totals_and_exports_only_that_bots_fills(trader, alice_key, fills):
    grid = {"lower": "49000", "upper": "51000", "levels": 5, "amount": "0.01"}
    trader.user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="run_bots")
    )
    trader = type(trader).objects.get(pk=trader.pk)
    bot = new_bot(trader, alice_key, strategy="grid", params=grid, mode="dry_run")
    intent = OrderIntent.objects.create(
        user=trader, key=alice_key, bot=bot, symbol="BTC/USDT", side="buy", type="limit",
        amount="0.3", price="21000",
    )  # fmt: skip
    botted = FillFactory(
        key=alice_key, intent=intent, amount=Decimal("0.3"), price=Decimal("21000"),
        executed_at=at(5),
    )  # fmt: skip
    client = login(trader)
    page = client.get(f"/fills/?bot={bot.pk}")
    assert page.status_code == 200
    assert ids(page) == {botted.pk}
    assert "Totals for these 1 fill" in page.content.decode()
    live = client.get(f"/fills/live/?bot={bot.pk}")
    assert ids(live) == {botted.pk}
    exported = b"".join(client.get(f"/fills/export.csv?bot={bot.pk}").streaming_content).decode()
    assert len(exported.strip().splitlines()) == 2  # the header and the bot's fill
    assert ids(client.get("/fills/")) == {f.pk for f in fills.values()} | {botted.pk}


@pytest.mark.parametrize(
    "query",
    [
        "",
        "date_from=2026-03-01&date_to=2026-03-02",
        "date_from=2026-03-02&date_to=2026-03-01",  # the end before the start: an error
        "date_from=x%22%3E%3Cb%3E&date_to=",  # not a date, escaped; an empty value kept
        "date_to=2026-03-05",
    ],
)
def test_the_date_inputs_are_the_forms_own_widgets(trader, fills, query):
    page = login(trader).get(f"/fills/?{query}").content.decode()
    form = FillFilterForm(QueryDict(query))
    form.is_valid()
    for name in ("date_from", "date_to"):
        assert str(form[name]) in page, name
