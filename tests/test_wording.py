"""Conditions and formulas in French words (``evaluator.core.wording``), from the labels of the
facts, the labels and values of the parameters and the labels of the lists."""

from __future__ import annotations

import ast
from decimal import Decimal

import pytest

from evaluator.core.expressions import Symbol, Type, compile_expression
from evaluator.core.kinds.base import code
from evaluator.core.wording import lowered, words, written
from evaluator.versions.handbook import build, to_html, to_markdown

_EU = "les États membres de l'Union européenne"


@pytest.mark.parametrize(("rule", "expected"), [
    ("rate.bonuses.territoires_fragiles",
     "entité située en outre-mer (demandeur) ou entité bénéficiaire d'Action Cœur de Ville (demandeur) ou plus "
     "forte part de population en QPV parmi les entités couvertes est au moins part de la population en quartier "
     "prioritaire de la ville (QPV), soit 40 %"),
    ("rate.base.majore",
     "demande mutualisée ou licences des entités couvertes est au moins seuil de licences du taux majoré (500)"),
    ("mutualisation.checks.applicant_share",
     "dépenses éligibles du demandeur est au moins part minimale du demandeur dans les dépenses éligibles totales "
     "(10 %) × total des dépenses éligibles"),
    ("sovereignty.criteria.no_extra_eu_jurisdiction", "éditeur soumis à une juridiction extra-UE : non"),
    ("sovereignty.criteria.data_in_eu",
     f"chacun des pays d'hébergement des données figure parmi {_EU} et chacun des pays de traitement des données "
     f"figure parmi {_EU}"),
    ("sovereignty.criteria.editor_in_eu", f"pays du siège de l'éditeur figure parmi {_EU}"),
    ("conditions.checks.no_retroactive_funding", "date d'achat est postérieure à date de dépôt de la demande"),
    ("expenses.eligible_deployment",
     "le plus petit de déploiement demandé par les entités couvertes et licences éligibles"),
])
def test_the_conditions_of_v1_read_in_french(policy, rule, expected):
    expressions = {
        "rate.bonuses.territoires_fragiles": policy.rate.bonuses[0].when,
        "rate.base.majore": policy.rate.tiers[0].when,
        "mutualisation.checks.applicant_share": policy.mutualisation.checks[0].test,
        **{check.rule: check.test for check in (*policy.sovereignty.checks, *policy.conditions.checks)},
        "expenses.eligible_deployment": policy.expenses.eligible_deployment.expression,
    }
    assert expressions[rule].words == expected


def test_a_rule_shows_its_condition_in_words_then_as_written(policy):
    told = code(policy.rate.tiers[0].when, "")
    assert told == ("demande mutualisée ou licences des entités couvertes est au moins seuil de licences du taux "
                    "majoré (500) (`mutualised or licence_count >= licence_threshold`)")
    assert written(told) == "`mutualised or licence_count >= licence_threshold`"  # what versions compare
    assert code(policy.rate.bonuses[1].when, "") == "démarche d'IA frugale déclarée (`frugal_ai`)"
    assert code(None, "toujours") == "toujours"


SCOPE = {
    "amount": Symbol(Type.NUMBER, "montant demandé"),
    "licences": Symbol(Type.NUMBER, "licences"),
    "mutualised": Symbol(Type.BOOL, "demande mutualisée"),
    "overseas": Symbol(Type.BOOL, "entité située en outre-mer"),
    "frugal": Symbol(Type.BOOL, "démarche d'IA frugale"),
    "country": Symbol(Type.TEXT, "pays de l'éditeur"),
    "countries": Symbol(Type.TEXT_LIST, "pays d'hébergement"),
    "eu": Symbol(Type.TEXT_LIST, "États membres de l'UE", constant=True),
    "cap": Symbol(Type.NUMBER, "Plafond par licence", constant=True, value=Decimal(300), unit="euros"),
    "share": Symbol(Type.NUMBER, "Part du déploiement", constant=True, value=Decimal("0.4"), unit="fraction"),
    "opens": Symbol(Type.DATE, "date d'ouverture"),
    "day": Symbol(Type.DATE, "date de dépôt"),
}


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("mutualised or overseas and frugal", Type.BOOL,
     "demande mutualisée ou (entité située en outre-mer et démarche d'IA frugale)"),
    ("(mutualised or overseas) and frugal", Type.BOOL,
     "(demande mutualisée ou entité située en outre-mer) et démarche d'IA frugale"),
    ("not (mutualised or frugal)", Type.BOOL, "non (demande mutualisée ou démarche d'IA frugale)"),
    ("country not in ['US', 'CN']", Type.BOOL, "pays de l'éditeur ne figure pas parmi « US », « CN »"),
    ("country in eu and any_in(countries, eu)", Type.BOOL,
     "pays de l'éditeur figure parmi les États membres de l'UE et au moins un des pays d'hébergement figure "
     "parmi les États membres de l'UE"),
    ("country == 'FR' or country != 'DE'", Type.BOOL,
     "pays de l'éditeur vaut « FR » ou pays de l'éditeur ne vaut pas « DE »"),
    ("licences < 10 or licences <= 20 or licences > 30 or mutualised == False", Type.BOOL,
     "licences est inférieur à 10 ou licences est au plus 20 ou licences dépasse 30 ou demande mutualisée vaut faux"),
    ("day >= opens and day <= opens", Type.BOOL,
     "date de dépôt est au plus tôt date d'ouverture et date de dépôt est au plus tard date d'ouverture"),
    ("min(amount, licences * cap, 1500.50)", Type.NUMBER,
     "le plus petit de montant demandé, licences × plafond par licence (300,00 €) et 1 500,50"),
    ("max(amount - 100, 0) * (1 - share) / (share + 12.5 %)", Type.NUMBER,
     "(le plus grand de montant demandé − 100 et 0) × (1 − part du déploiement (40 %)) ÷ (part du déploiement "
     "(40 %) + 12,5 %)"),
    ("amount - (licences - 1)", Type.NUMBER, "montant demandé − (licences − 1)"),
    ("-amount if mutualised else amount * 40 %", Type.NUMBER,
     "−montant demandé si demande mutualisée, sinon montant demandé × 40 %"),
])
def test_every_construction_reads_in_french(text, kind, expected):
    assert compile_expression(text, SCOPE, kind).words == expected


def test_a_shape_without_words_is_shown_as_written():
    tree = ast.parse("licences[0] + len(countries)", mode="eval").body
    assert words(tree, "licences[0] + len(countries)", SCOPE) == "licences[0] + len(countries)"


def test_a_label_inside_a_sentence():
    assert [lowered(label) for label in ("Seuil de licences", "UE", "États membres", "QPV des entités")] == \
        ["seuil de licences", "UE", "États membres", "QPV des entités"]


def test_the_document_of_a_version_gives_conditions_in_words(policy):
    markdown = to_markdown(build(policy))
    assert ("| Demande mutualisée ou portant sur au moins 500 licences | 40 % | demande mutualisée ou licences des "
            "entités couvertes est au moins seuil de licences du taux majoré (500) (`mutualised or licence_count >= "
            "licence_threshold`) | palier retenu (40 %) | §3 Niveau de financement |") in markdown
    assert "| nombre si licences de l'entité dépasse 0 (`licences > 0`) |" in markdown  # an aggregate's filter
    assert "une division est arrondie à 28 chiffres significatifs (au plus proche, au pair) et vaut 0" in markdown
    page = to_html(build(policy), policy.title)
    assert ('<th scope="row">Bonification « IA frugale »</th><td>+10\u00a0%</td><td>démarche d&#x27;IA frugale '
            "déclarée (<code>frugal_ai</code>)</td>") in page


def test_amounts_rates_and_dates_never_break_across_lines():
    from evaluator.core.french import unbreakable

    text = "Subvention : 12 345,50 € le 1er juillet 2027 à 40 %, 300 licences pour 12 mois, jusqu'au 21 mai 2029."
    assert unbreakable(text) == ("Subvention : 12\u00a0345,50\u00a0€ le 1er\u00a0juillet\u00a02027 à 40\u00a0%, "
                                 "300\u00a0licences pour 12\u00a0mois, jusqu'au 21\u00a0mai\u00a02029.")
    assert unbreakable("la ligne 2 et la 3 ou 4") == "la ligne 2 et la 3 ou 4"
