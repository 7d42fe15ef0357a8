"""The filing window (``window``): an application filed outside it takes the status the policy says."""

from __future__ import annotations

from datetime import date

from evaluator.core import french
from evaluator.core.findings import Applied
from evaluator.core.kinds.base import SETTING, Branch, Description, Kind, Loader, Section, Work, status_words
from evaluator.core.policy import Policy, Window
from evaluator.reading.formats import parse_date


def load(loader: Loader) -> Window:
    w = loader.data["window"]
    opens, closes = parse_date(w["opens_on"]), parse_date(w["closes_on"])
    if closes < opens:
        loader.problem(("window", "closes_on"), "la fermeture du guichet précède son ouverture")
    return Window(loader.text(("window", "label")), opens, closes, w["on_outside"], w["clause"],
                  loader.interpretation(("window",), w))


def evaluate(work: Work) -> None:
    window = work.policy.window
    submitted = work.application.submitted_on
    inside = window.opens_on <= submitted <= window.closes_on
    work.find(Applied("window", "pass" if inside else "fail", window.clause, None if inside else window.on_outside,
                      ("submitted_on",), None, "inside" if inside else "outside", message, (window, submitted, inside)))


def message(window: Window, submitted: date, inside: bool) -> str:
    period = f"du {french.day(window.opens_on)} au {french.day(window.closes_on)}"
    if inside:
        return f"Demande déposée le {french.day(submitted)}, {period} : dans la période de dépôt."
    return f"Demande déposée le {french.day(submitted)}, hors de la période de dépôt ({period})."


def _branches(window: Window, policy: Policy) -> tuple[Branch, ...]:
    return (Branch("inside", "dans la période"),
            Branch("outside", f"hors de la période → {status_words(policy, window.on_outside)}"))


def _describe(window: Window, policy: Policy) -> Description:
    return (("période", f"du {french.day(window.opens_on)} au {french.day(window.closes_on)}"),
            ("hors période", status_words(policy, window.on_outside)))


WINDOW = Kind("window", SETTING, lambda policy: (policy.window,), _branches, _describe)
SECTION: Section = Section("window", "Période de dépôt", (WINDOW,), evaluate, lambda policy: policy.window, load)
