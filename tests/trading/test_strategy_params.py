"""Strategy parameters: typed validation, JSON round trips, and the form the web layer renders."""

import json
from decimal import Decimal

import pytest
from django import forms

from trading.strategies import ParamError, strategy_build, strategy_registry
from trading.strategies.forms import StrategyParamsForm, strategy_param_form_fields


def test_every_built_in_strategy_is_registered_with_a_name_and_help_for_each_parameter():
    assert set(strategy_registry) == {"dca", "grid", "rebalance", "market_making", "sma_crossover"}
    for cls in strategy_registry.values():
        assert cls.name and cls.description
        assert all(param.label and param.help for param in cls.params)


@pytest.mark.parametrize("slug", sorted(strategy_registry))
def test_defaults_are_valid_and_survive_a_json_round_trip(slug):
    defaults = strategy_registry[slug].defaults()
    strategy = strategy_build(slug=slug, symbol="BTC/USDT", params=json.loads(json.dumps(defaults)))
    assert strategy.params_json() == defaults
    json.dumps(strategy.initial_state())


def test_parameters_are_typed_and_bounded_with_one_message_per_field():
    with pytest.raises(ParamError) as caught:
        strategy_build(
            slug="grid",
            symbol="BTC/USDT",
            params={"lower": "ninety", "levels": 1, "amount": 0.5},
        )
    assert caught.value.errors == {
        "lower": "Enter a number.",
        "levels": "Must be at least 2.",
        "amount": "Give a decimal number as text, not a float.",
    }


def test_decimal_parameters_keep_their_exact_value():
    strategy = strategy_build(slug="dca", symbol="BTC/USDT", params={"quote_amount": "0.1"})
    assert strategy.p["quote_amount"] == Decimal("0.1")


def test_unknown_parameters_and_unknown_strategies_are_refused():
    with pytest.raises(ParamError, match="Unknown parameters: colour"):
        strategy_build(slug="dca", symbol="BTC/USDT", params={"colour": "red"})
    with pytest.raises(ParamError, match="Unknown strategy"):
        strategy_build(slug="martingale", symbol="BTC/USDT", params={})


def test_weights_parse_from_text_and_must_include_the_quote_currency():
    strategy = strategy_build(
        slug="rebalance", symbol="BTC/USDT", params={"weights": "btc:3, usdt:1"}
    )
    assert strategy.targets == {"BTC": Decimal("0.75"), "USDT": Decimal("0.25")}
    with pytest.raises(ParamError, match="quote currency USDT"):
        strategy_build(slug="rebalance", symbol="BTC/USDT", params={"weights": "BTC:1, ETH:1"})


def test_form_fields_follow_the_schema_with_labels_help_defaults_and_bounds():
    cls = strategy_registry["sma_crossover"]
    fields = strategy_param_form_fields(cls)
    assert list(fields) == ["fast", "slow", "timeframe"]
    assert isinstance(fields["fast"], forms.IntegerField)
    assert fields["fast"].min_value == 1 and fields["fast"].initial == 10
    assert fields["slow"].help_text == "Number of candles in the slow average."
    assert isinstance(fields["timeframe"], forms.ChoiceField)
    assert ("4h", "4h") in fields["timeframe"].choices


def test_the_params_form_returns_json_ready_parameters_or_field_errors():
    cls = strategy_registry["grid"]
    good = StrategyParamsForm(
        {"lower": "100", "upper": "120.5", "levels": "5", "amount": "0.25"}, strategy_cls=cls
    )
    assert good.is_valid(), good.errors
    assert good.cleaned_data["params"] == {
        "lower": "100",
        "upper": "120.5",
        "levels": 5,
        "amount": "0.25",
    }
    bad = StrategyParamsForm(
        {"lower": "120", "upper": "100", "levels": "5", "amount": "1"}, strategy_cls=cls
    )
    assert not bad.is_valid()
    assert bad.errors["upper"] == ["The highest level must be above the lowest."]
