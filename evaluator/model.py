"""Frozen model objects built in numbers: a dataclass's ``__init__`` that sets every field at once."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def set_at_once(cls: type[T]) -> type[T]:
    """Give the frozen dataclass ``cls`` an ``__init__`` that sets its instance dictionary in one
    step, rather than the generated one's frozen ``__setattr__`` for each field: two to three times
    faster, for an object built for every application and read little (the decision). Same
    parameters and defaults; equality, hashing, ``repr`` and immutability stay the dataclass's.

    Its attributes are read a little more slowly: CPython keeps those set one by one in the object
    itself (values shared keys, specialised reads), not those of a dictionary set at once. The
    application's entities and lines, read by every rule, keep the generated ``__init__`` (the toy
    rule of ``bench/`` is 15 % slower otherwise)."""
    namespace: dict[str, Any] = {"set_attribute": object.__setattr__}
    parameters = []
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if item.default_factory is not dataclasses.MISSING or not item.init:
            raise TypeError(f"{cls.__name__}.{item.name} : valeur par défaut calculée non prise en charge")
        if item.default is dataclasses.MISSING:
            parameters.append(item.name)
        else:
            namespace[f"default_{item.name}"] = item.default
            parameters.append(f"{item.name}=default_{item.name}")
    values = ", ".join(f"{item.name!r}: {item.name}" for item in dataclasses.fields(cls))  # type: ignore[arg-type]
    source = f"def __init__(self, {', '.join(parameters)}):\n    set_attribute(self, '__dict__', {{{values}}})\n"
    exec(compile(source, f"<{cls.__name__}.__init__>", "exec"), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
