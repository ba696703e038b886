"""The strategy picker of the backtest and sweep forms names the strategies and keeps the choice."""

import pytest
from django.urls import reverse

from tests.trading.backtest_helpers import make_runner

pytestmark = pytest.mark.django_db


@pytest.fixture
def runner_client(client, alice):
    client.force_login(make_runner(alice))
    return client


@pytest.mark.parametrize("name", ["trading:backtest_new", "trading:sweep_new"])
def test_the_picker_lists_every_strategy_by_name_with_the_chosen_one_selected(runner_client, name):
    page = runner_client.get(reverse(name) + "?strategy=grid").content.decode()
    assert '<option value="grid" selected>Grid</option>' in page
    assert '<option value="sma_crossover">SMA crossover</option>' in page
    assert "Places buy orders on the levels below the price" in page  # its description


def test_a_backtest_form_offers_a_sweep_of_the_same_strategy(runner_client):
    page = runner_client.get(reverse("trading:backtest_new") + "?strategy=dca").content.decode()
    assert f'href="{reverse("trading:sweep_new")}?strategy=dca"' in page
    assert "<legend>DCA parameters</legend>" in page
