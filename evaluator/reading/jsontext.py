"""JSON text of decoded data whose numbers are ``Decimal``: each number is written as the decimal it
is, never through a float. ``canonical`` gives the one text of a value that its hash is taken of:
keys sorted, no spaces, each number in its shortest plain form (``1250.50`` and ``1250.5`` are both
``1250.5``; a float, as from ``json.loads``, counts as the decimal it prints as)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

_INT64 = 1 << 63


def _written(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"valeur sans forme JSON : {value!r}")


def _canonical_number(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment("0" if value.is_zero() else format(value.normalize(), "f"))
    raise TypeError(f"valeur sans forme JSON : {value!r}")


def dumps(value: Any) -> bytes:
    """``value`` (mappings with text keys, lists, texts, booleans, ``None``, integers, ``Decimal``,
    ``orjson.Fragment``) as compact UTF-8 JSON, numbers as written (``0.40`` stays ``0.40``).
    Raises ``TypeError`` for anything else, and for a number that is not finite."""
    return orjson.dumps(value, default=_written)


def canonical(value: Any) -> bytes:
    """The canonical JSON of ``value``: the same bytes for the same data, however it was written."""
    return orjson.dumps(_exact(value), default=_canonical_number, option=orjson.OPT_SORT_KEYS)


def _exact(value: Any) -> Any:
    """``value`` with its floats (and integers beyond 64 bits) as decimals, and its keys as texts."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT64 <= value < _INT64:
        return Decimal(value)
    if isinstance(value, Mapping):
        return {str(key): _exact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact(item) for item in value]
    return value
