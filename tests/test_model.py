"""model.set_at_once: the same frozen dataclass, built faster."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from evaluator.model import set_at_once


@dataclasses.dataclass(frozen=True)
class Plain:
    name: str
    count: int = 3
    note: str | None = dataclasses.field(default=None, compare=False)


@set_at_once
@dataclasses.dataclass(frozen=True)
class Quick:
    name: str
    count: int = 3
    note: str | None = dataclasses.field(default=None, compare=False)


def test_it_behaves_as_the_dataclass_it_was():
    quick, plain = Quick("a", note="x"), Plain("a", note="x")
    assert (quick.name, quick.count, quick.note) == (plain.name, plain.count, plain.note) == ("a", 3, "x")
    assert quick == Quick("a", 3, "y") and hash(quick) == hash(Quick("a", 3, "y"))  # note is not compared
    assert quick != Quick("b")
    assert repr(quick) == repr(plain).replace("Plain", "Quick")
    assert dataclasses.replace(quick, count=4).count == 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.name = "b"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Quick()  # type: ignore[call-arg]


def test_it_survives_pickling_as_the_batch_workers_need():
    assert pickle.loads(pickle.dumps(Quick("a", 5))) == Quick("a", 5)


def test_a_computed_default_is_refused():
    @dataclasses.dataclass(frozen=True)
    class Listed:
        items: list[str] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="items"):
        set_at_once(Listed)
