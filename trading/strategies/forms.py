"""Django form fields for a strategy's parameters, built from its `Param` schema."""

from __future__ import annotations

from django import forms

from trading.strategies.base import Strategy
from trading.strategies.params import Param, ParamError, weights_format


def _field(param: Param) -> forms.Field:
    common = {"label": param.label, "help_text": param.help, "required": param.required}
    if param.kind == "decimal":
        initial = param.default
        return forms.DecimalField(
            min_value=param.min, max_value=param.max, initial=initial, **common
        )
    if param.kind == "int":
        return forms.IntegerField(
            min_value=param.min, max_value=param.max, initial=param.default, **common
        )
    if param.kind == "bool":
        return forms.BooleanField(initial=param.default, **{**common, "required": False})
    if param.kind == "choice":
        return forms.ChoiceField(
            choices=[(c, c) for c in param.choices], initial=param.default, **common
        )
    initial = param.default if isinstance(param.default, str) else weights_format(param.default)
    return forms.CharField(initial=initial, **common)


def strategy_param_form_fields(strategy_cls: type[Strategy]) -> dict[str, forms.Field]:
    """Return one form field per parameter of `strategy_cls`, in declaration order."""
    return {param.name: _field(param) for param in strategy_cls.params}


class StrategyParamsForm(forms.Form):
    """A form for one strategy's parameters; `cleaned_data["params"]` is JSON-ready."""

    def __init__(self, *args, strategy_cls: type[Strategy], **kwargs):
        super().__init__(*args, **kwargs)
        self.strategy_cls = strategy_cls
        self.fields.update(strategy_param_form_fields(strategy_cls))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        raw = {name: cleaned.get(name) for name in self.fields}
        raw = {
            k: (str(v) if v is not None and not isinstance(v, bool | int) else v)
            for k, v in raw.items()
        }
        try:
            values = self.strategy_cls.validate(raw)
        except ParamError as exc:
            for field, message in exc.errors.items():
                self.add_error(field or None, message)
            return cleaned
        by_name = {param.name: param for param in self.strategy_cls.params}
        cleaned["params"] = {name: by_name[name].to_json(v) for name, v in values.items()}
        return cleaned
