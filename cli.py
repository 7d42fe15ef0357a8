"""The ``guichet`` command: parses arguments, calls the evaluator, prints. Nothing else.

Exit codes: 0 success, 1 a test case failed, 2 bad input (every problem printed with its file,
line and path, in French, never a traceback).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import click

from evaluator.application import build_application, checked_document, read_application, submission_date
from evaluator.cases import discover, load_cases, run_case
from evaluator.documents import Document, load_document
from evaluator.engine import evaluate as decide
from evaluator.facts import APPLICATION_FACTS, ENTITY_FACTS, Stage
from evaluator.policy_loader import load_policy_file
from evaluator.problems import InputError, Problem
from evaluator.registry import Registry
from evaluator.report import render_text
from evaluator.resources import policies_dir

BAD_INPUT = 2


@contextmanager
def _bad_input() -> Iterator[None]:
    """Print every problem of an ``InputError`` and exit 2."""
    try:
        yield
    except InputError as error:
        for problem in error.problems:
            click.echo(problem.render(), err=True)
        count = len(error.problems)
        click.echo(f"{count} problème{'s' if count > 1 else ''} : rien n'a été évalué.", err=True)
        sys.exit(BAD_INPUT)


def _read(path: str) -> tuple[bytes, str]:
    if path == "-":
        return sys.stdin.buffer.read(), "<entrée standard>"
    try:
        return Path(path).read_bytes(), path
    except OSError as error:
        raise InputError([Problem(path, f"lecture impossible : {error.strerror}")]) from None


def _registry(policy_dir: str | None) -> Registry:
    return Registry.from_directory(Path(policy_dir)) if policy_dir else Registry.default()


policy_dir_option = click.option("--policy-dir", type=click.Path(file_okay=False), default=None,
                                 help="Répertoire des versions de la politique (par défaut : celles livrées).")
policy_option = click.option("--policy", "policy_file", type=click.Path(dir_okay=False), default=None,
                             help="Appliquer ce fichier de politique, quelle que soit la date.")
version_option = click.option("--policy-version", default=None,
                              help="Appliquer cette version, au lieu de celle en vigueur à la date de dépôt.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """guichet — décide des demandes de cofinancement du programme Territoires d'IA."""


@main.command()
@click.argument("application", type=str)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              help="text : rapport en français ; json : décision au format stable.")
@policy_option
@version_option
@policy_dir_option
def evaluate(application: str, output_format: str, policy_file: str | None, policy_version: str | None,
             policy_dir: str | None) -> None:
    """Évalue une demande (fichier YAML ou JSON, « - » pour l'entrée standard)."""
    with _bad_input():
        raw, source = _read(application)
        document = read_application(raw, source)
        if policy_file:
            policy = load_policy_file(Path(policy_file))
            decision = decide(policy, build_application(document, policy))
        else:
            decision = _registry(policy_dir).decide(document, policy_version)
    click.echo(decision.to_json() if output_format == "json" else render_text(decision), nl=output_format == "json")


@main.command()
@click.argument("applications", type=str)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-",
              help="Fichier des décisions (par défaut : la sortie standard).")
@version_option
@policy_dir_option
def batch(applications: str, output: IO[str], policy_version: str | None, policy_dir: str | None) -> None:
    """Évalue un fichier JSON Lines de demandes : une décision JSON par ligne, dans l'ordre.

    Une ligne invalide donne un enregistrement d'erreur qui la nomme ; le lot continue, et la
    commande se termine avec le code 2."""
    with _bad_input():
        registry = _registry(policy_dir)
        raw, source = _read(applications)
    failures = 0
    for number, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = checked_document(_json_line(line, source, number))
            record: dict[str, Any] = registry.decide(document, policy_version).to_dict()
        except InputError as error:
            failures += 1
            record = {"line": number, "status": "error", "problems": [p.to_dict() for p in error.problems]}
        output.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
    if failures:
        click.echo(f"{failures} ligne(s) invalide(s) sur {source}.", err=True)
        sys.exit(BAD_INPUT)


def _json_line(line: str, source: str, number: int) -> Document:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise InputError([Problem(source, f"clé en double : « {key} »", number)])
        return dict(pairs)

    try:
        data = json.loads(line, parse_float=Decimal, parse_constant=Decimal, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as error:
        raise InputError([Problem(source, f"JSON invalide : {error.msg}", number, error.colno)]) from None
    except RecursionError:
        raise InputError([Problem(source, "JSON trop imbriqué", number)]) from None
    return Document(source, data, [line], {(): (number, 1)})


@main.command()
@click.argument("files", nargs=-1, required=True, type=str)
@click.option("--kind", type=click.Choice(["auto", "policy", "application", "case"]), default="auto",
              help="Nature des fichiers (par défaut : reconnue au contenu).")
@policy_dir_option
def validate(files: tuple[str, ...], kind: str, policy_dir: str | None) -> None:
    """Vérifie des politiques, des demandes ou des fichiers de cas ; tous les problèmes sont listés."""
    problems: list[Problem] = []
    registry: Registry | None = None
    for name in files:
        try:
            raw, source = _read(name)
            document = load_document(raw, source)
            detected = kind if kind != "auto" else _detect(document)
            if detected == "policy":
                policy = load_policy_file(Path(name))
                click.echo(f"{source} : politique {policy.id} {policy.version} valide.")
            elif detected == "case":
                click.echo(f"{source} : {len(load_cases(Path(name)))} cas valides.")
            else:
                registry = registry or _registry(policy_dir)
                checked = checked_document(document)
                policy = registry.in_force(submission_date(checked))
                build_application(checked, policy)
                click.echo(f"{source} : demande valide (politique {policy.version}).")
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        with _bad_input():
            raise InputError(problems)


def _detect(document: Document) -> str:
    data = document.data
    if isinstance(data, dict) and "cases" in data:
        return "case"
    if isinstance(data, dict) and "effective_from" in data and "rate" in data:
        return "policy"
    return "application"


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("-k", "keyword", default=None, help="Ne lancer que les cas dont le nom contient ce texte.")
@policy_dir_option
def run_tests(paths: tuple[str, ...], keyword: str | None, policy_dir: str | None) -> None:
    """Lance les cas de test (par défaut : tests/cases) et résume « N passed, N failed »."""
    with _bad_input():
        registry = _registry(policy_dir)
        files = discover([Path(p) for p in paths] or [Path("tests/cases")])
        cases = [case for path in files for case in load_cases(path)]
    selected = [case for case in cases if keyword is None or keyword.lower() in case.name.lower()]
    failed = 0
    for case in selected:
        result = run_case(case, registry)
        if result.passed:
            continue
        failed += 1
        click.echo(f"ÉCHEC {case.location} — {case.name}")
        for difference in result.differences:
            click.echo(f"    {difference}")
    click.echo(f"{len(selected) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command()
def facts() -> None:
    """Liste les faits qu'une expression de politique peut lire, et quand ils sont connus."""
    stages = {Stage.INPUT: "donnés par la demande", Stage.ENTITIES: "après l'examen des bénéficiaires",
              Stage.REQUESTED: "après le classement des dépenses", Stage.ELIGIBLE: "après le plafond du déploiement",
              Stage.MUTUALISATION: "après la mutualisation"}
    for stage, title in stages.items():
        click.echo(f"Faits {title} :")
        for fact in APPLICATION_FACTS.values():
            if fact.stage == stage:
                optional = ", facultatif" if fact.optional else ""
                click.echo(f"  {fact.name:<34} {fact.type.value}{optional} — {fact.label}")
    click.echo("Faits d'une entité (conditions des catégories de bénéficiaires) :")
    for fact in ENTITY_FACTS.values():
        click.echo(f"  {fact.name:<34} {fact.type.value} — {fact.label}")
    click.echo(f"Politiques livrées : {policies_dir()}")


if __name__ == "__main__":
    main()
