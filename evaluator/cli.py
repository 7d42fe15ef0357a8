"""The ``guichet`` command: parses arguments, calls the evaluator, prints. Nothing else.

Exit codes: 0 success, 1 a test case failed or standard output could not be written (a full disk,
a pipe closed by its reader: said in one line, or not at all for the pipe), 2 bad input (every
problem printed with its file, line and path, in French, never a traceback; a bad option too, a
file named on the command line that cannot be read or written). Everything said is French, click's
own messages included (``_CLICK_FRENCH``).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
import orjson

from evaluator.core import french
from evaluator.core.application import application_schema, build_application
from evaluator.core.decision import Decision
from evaluator.core.engine import evaluate as decide
from evaluator.core.facts import LEVELS, STAGE_WORDS, Stage
from evaluator.core.policy import Policy
from evaluator.core.report import render_text
from evaluator.reading.files import open_regular, os_error_text, read_bounded, read_regular
from evaluator.reading.parse import Document, json_lines, load_document
from evaluator.reading.problems import LIMIT, InputError, Problem, raise_if_any
from evaluator.reading.resources import schema as bundled_schema
from evaluator.versions.loader import load_policy_file
from evaluator.versions.lock import lock_problems, read_lock, write_atomically
from evaluator.versions.registry import Drafts, Registry
from evaluator.versions.stale import stale_texts
from evaluator.versions.workspace import reading_directory, writing_directory

if TYPE_CHECKING:
    from evaluator.core.policy import Statuses
    from evaluator.service.batch import Summarise, Tally
    from evaluator.workbook.reading import Portfolio as Workbook

# What only some commands need is imported by them (the batch's processes, the test runner, the
# workbooks, the diff, the impact…): ``guichet evaluate`` starts some 40 ms sooner.

BAD_INPUT = 2
OUTPUT_FAILED = 1
STDIN = "<entrée standard>"
_STREAM_HINT = "pour lire un flux, passez « - » et redirigez l'entrée standard"


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
    """A document named on the command line (« - »: standard input), bounded (``reading.files``)."""
    if path == "-":
        return read_bounded(sys.stdin.buffer, STDIN), STDIN
    return read_regular(Path(path), path, _STREAM_HINT), path


def _document(raw: bytes, source: str) -> Document:
    """One application, policy or case file; a file of JSON Lines (several applications, one a
    line) is pointed to ``guichet batch``, rather than refused as YAML."""
    try:
        return load_document(raw, source)
    except InputError:
        if _looks_like_json_lines(raw):
            raise InputError([Problem(source, "le fichier est au format JSON Lines (un document JSON par ligne) : "
                                              "un seul document est attendu ici",
                                      hint="pour décider une demande par ligne : guichet batch FICHIER")]) from None
        raise


def _looks_like_json_lines(raw: bytes) -> bool:
    """Whether the first two lines of ``raw`` are each a JSON object."""
    lines = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n", 2)[:2]
    try:
        return len(lines) == 2 and all(isinstance(orjson.loads(line), dict) for line in lines)
    except orjson.JSONDecodeError:
        return False


def _registry(policy_dir: str | None, drafts: Drafts = "skip") -> Registry:
    """The versions of ``--policy-dir``, else of ./policies, else the bundled ones
    (``versions.workspace``). A draft that does not load is left out, with a warning on standard
    error, so that the published versions go on deciding (``drafts="refuse"``: it is bad input)."""
    registry = Registry.from_directory(reading_directory(policy_dir), drafts)
    for draft in registry.skipped:
        click.echo(draft.warning(), err=True)
    return registry


def _chosen(registry: Registry, version: str | None) -> Policy:
    """The version named, else the newest."""
    return registry.version(version) if version else registry.versions[-1]


def _write_text(path: str, text: str) -> None:
    """Write a file the command produces, whole or not at all (beside it, then renamed over it); a
    file that cannot be written is bad input."""
    write_atomically(Path(path), text.encode("utf-8"))


policy_dir_option = click.option("--policy-dir", type=click.Path(file_okay=False), default=None,
                                 help="Répertoire des versions de la politique (par défaut : ./policies s'il "
                                      "en contient, sinon celles livrées avec guichet).", metavar="RÉPERTOIRE")
policy_option = click.option("--policy", "policy_file", type=click.Path(dir_okay=False), default=None,
                             help="Appliquer ce fichier de politique, quelle que soit la date.", metavar="FICHIER")
version_option = click.option("--policy-version", default=None,
                              help="Appliquer cette version, au lieu de celle en vigueur à la date de dépôt.",
                              metavar="VERSION")
workers_option = click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
                              help="Nombre de processus de calcul (par défaut : le nombre de cœurs).")


_CLICK_FRENCH = {
    "Usage:": "Utilisation :",
    "Options": "Options",
    "Commands": "Commandes",
    "Show this message and exit.": "Affiche cette aide.",
    "default: {default}": "par défaut : {default}",
    "required": "obligatoire",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Aide : {command} {option}",
    "Invalid value: {message}": "valeur invalide : {message}",
    "Invalid value for {param_hint}: {message}": "valeur invalide pour {param_hint} : {message}",
    "Missing argument": "argument manquant :",
    "Missing option": "option manquante :",
    "Missing parameter": "paramètre manquant :",
    "Missing command.": "commande manquante.",
    "No such option {name!r}.": "option inconnue : {name}.",
    "No such command {name!r}.": "commande inconnue : {name}.",
    "Did you mean {possibility}?": "Vouliez-vous dire {possibility} ?",
    "(Did you mean one of: {possibilities}?)": "(Vouliez-vous dire l'une de : {possibilities} ?)",
    "Got unexpected extra argument ({args})": "argument en trop : {args}",
    "Got unexpected extra arguments ({args})": "arguments en trop : {args}",
    "Option {name!r} requires an argument.": "l'option {name} attend une valeur.",
    "Option {name!r} does not take a value.": "l'option {name} ne prend pas de valeur.",
    "{value!r} is not {choice}.": "« {value} » n'est pas admis : {choice} attendu.",
    "{value!r} is not one of {choices}.": "« {value} » n'est pas admis ; valeurs admises : {choices}.",
    "Choose from:\n\t{choices}": "valeurs admises : {choices}",
    "{value!r} is not a valid {number_type}.": "« {value} » n'est pas un nombre valide.",
    "{value} is not in the range {range}.": "{value} est hors de l'intervalle admis ({range}).",
    "{value!r} does not match the format {format}.": "« {value} » n'est pas une date AAAA-MM-JJ.",
    "file": "fichier",
    "directory": "répertoire",
    "{name} {filename!r} is a file.": "{name} « {filename} » est un fichier : un répertoire est attendu.",
    "{name} {filename!r} is a directory.": "{name} « {filename} » est un répertoire : un fichier est attendu.",
    "{name} {filename!r} is not writable.": "{name} « {filename} » n'est pas accessible en écriture.",
}
"""click's messages (English, each passed through ``gettext``) in French, for those a guichet
command can show: its usage errors and its help."""


def _french(message: str) -> str:
    return _CLICK_FRENCH.get(message, message)


def _french_plural(one: str, many: str, count: int) -> str:
    return _french(one if count == 1 else many)


def _click_in_french() -> None:
    """Each module of click calls ``gettext`` and ``ngettext`` by the names ``_`` and ``ngettext``."""
    for module in (click.core, click.exceptions, click.formatting, click.parser, click.types, click.decorators):
        module._ = _french  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = _french_plural  # type: ignore[attr-defined]


_click_in_french()


class _Guichet(click.Group):
    """The guichet command: a usage error is said in French (exit 2), an interruption too (exit
    130), and a standard output that cannot be written in one line (exit 1), never as a traceback."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as error:
            error.show()
            code = error.exit_code
        except click.Abort:
            click.echo("guichet : interrompu.", err=True)
            code = 128 + signal.SIGINT
        except OSError as error:
            if error.errno not in _OUTPUT_ERRORS:
                raise
            code = _output_failed(error)
        sys.exit(code if isinstance(code, int) else 0)


_OUTPUT_ERRORS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""What a write that fails says. Reaching the command's top, it is standard output's: every file
guichet writes otherwise says its own errors (bad input: the file named), and so does the batch."""


def _output_failed(error: OSError) -> int:
    """Standard output cannot be written: what is left for it goes nowhere (nothing is flushed to it
    at exit), and it is said in one line, on standard error — nothing for a pipe its reader closed,
    as ``guichet … | head`` does."""
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, sys.stdout.fileno())
    os.close(nowhere)
    if error.errno != errno.EPIPE:
        click.echo(f"guichet : la sortie standard n'a pas pu être écrite ({os_error_text(error)}).", err=True)
    return OUTPUT_FAILED


@click.group(cls=_Guichet, subcommand_metavar="COMMANDE [ARGUMENTS]...",
             context_settings={"help_option_names": ["-h", "--help"]})
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
        document = _document(raw, source)
        if policy_file:
            policy = load_policy_file(Path(policy_file))
            decision = decide(policy, build_application(document, policy))
        else:
            decision = _registry(policy_dir).decide(document, policy_version)
    click.echo(decision.to_json() if output_format == "json" else render_text(decision), nl=output_format == "json")


@main.command()
@click.argument("applications", type=str)
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="-", metavar="FICHIER",
              help="Fichier des décisions (par défaut : la sortie standard) ; en .csv ou .xlsx : un tableau.")
@click.option("--format", "output_format", type=click.Choice(["decision", "summary"]), default="decision",
              help="decision : la décision entière ; summary : un résumé (statut, taux, montants, version, motifs).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Nombre de processus (par défaut : le nombre de cœurs).", metavar="N")
@version_option
@policy_dir_option
def batch(applications: str, output: str, output_format: str, workers: int | None, policy_version: str | None,
          policy_dir: str | None) -> None:
    """Évalue un portefeuille de demandes — un fichier JSON Lines (« - » pour l'entrée standard) ou
    un classeur Excel (.xlsx, voir guichet template) — : une décision JSON par ligne, dans l'ordre,
    en flux (mémoire constante) ; chacune donne le numéro de sa ligne (« line » ; pour un classeur,
    le rang de la demande dans la feuille Demandes). --format summary : un résumé par demande. Un
    fichier -o en .csv ou .xlsx reçoit un tableau : une ligne par demande, montants en nombres,
    motifs en clair.

    Une ligne invalide donne un enregistrement d'erreur qui la nomme (pour un classeur : la feuille
    et la cellule) ; le lot continue, et la commande se termine avec le code 2. Interrompu (Ctrl-C :
    code 130 ; SIGTERM : 143) ou arrêté par une erreur, le lot laisse une sortie faite des réponses
    aux premières lignes, entières, et dit jusqu'où il est allé."""
    from evaluator.core.summary import summary_bytes
    from evaluator.service.batch import Failed as BatchFailed
    from evaluator.service.batch import Tally
    from evaluator.service.batch import run as run_batch
    from evaluator.service.progress import on_terminal, size_of
    from evaluator.workbook.reading import Portfolio as Workbook

    table = output != "-" and Path(output).suffix.lower() in (".csv", ".xlsx")
    with _bad_input(), ExitStack() as files:
        registry = _registry(policy_dir)
        if policy_version is not None:
            registry.version(policy_version)  # unknown: bad input at once, not an error record for every line
        stream, source = _portfolio(applications, files, registry)
        _refuse_same_file(stream if not isinstance(stream, Workbook) else applications, output)
        records = files.enter_context(_records_file(output)) if table else None
        target = records or (sys.stdout.buffer if output == "-" else files.enter_context(_output(output)))
        shown = (on_terminal(sys.stderr, len(stream), in_bytes=False) if isinstance(stream, Workbook)
                 else on_terminal(sys.stderr, size_of(stream)))
        render = summary_bytes if table or output_format == "summary" else Decision.to_bytes
        written = Tally()

        def progress(tally: Tally) -> None:
            nonlocal written
            written = tally
            if shown is not None:
                shown.update(tally)

        try:
            tally = run_batch(registry, stream, target, source, version=policy_version,
                              workers=workers or os.cpu_count() or 1, progress=progress, render=render)
        except (KeyboardInterrupt, OSError, InputError, BatchFailed) as error:
            if shown is not None:
                shown.stop()
            code = _batch_stopped(error, written, output)
            if records is not None:  # the table of the lines decided
                _write_decisions(records, output)
            sys.exit(code)
        if shown is not None:
            shown.finish(tally, registry.versions[-1].statuses)
        if records is not None:
            _write_decisions(records, output)
    if tally.refused:
        click.echo(f"{tally.refused} ligne(s) invalide(s) sur {source}.", err=True)
        sys.exit(BAD_INPUT)


def _refuse_same_file(stream: IO[bytes] | str, output: str) -> None:
    """Refuse to write the decisions to the file of the applications (the same file, by any name, or
    standard output sent to it; ``stream``, or the path of a workbook): opened for writing, it would
    be emptied before it is read, and appended to, read for ever; a workbook would be replaced."""
    try:
        read = os.stat(stream) if isinstance(stream, str) else os.fstat(stream.fileno())
        written = os.fstat(sys.stdout.fileno()) if output == "-" else os.stat(output)
    except (OSError, ValueError):  # no output file yet; a stream without a descriptor
        return
    if stat.S_ISREG(read.st_mode) and (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino):
        raise InputError([Problem("<sortie standard>" if output == "-" else output,
                                  "la sortie est le fichier des demandes lui-même : il serait effacé avant d'être lu",
                                  hint="écrivez les décisions dans un autre fichier (-o)")])


def _batch_stopped(error: BaseException, written: Tally, output: str) -> int:
    """Say why a batch stopped and how far it went (its output holds the whole records of the lines
    before, nothing after); the exit code."""
    from evaluator.service.batch import Interrupted

    if isinstance(error, KeyboardInterrupt):
        number = error.signal if isinstance(error, Interrupted) else signal.SIGINT
        how, code = f"interrompu ({'Ctrl-C' if number == signal.SIGINT else 'SIGTERM'})", 128 + number
    elif isinstance(error, InputError):
        for problem in error.problems:
            click.echo(problem.render(), err=True)
        how, code = "arrêté", BAD_INPUT
    elif isinstance(error, OSError):  # a full disk, a closed pipe: what was decided cannot be written
        where = output if output != "-" else "<sortie standard>"
        click.echo(Problem(where, f"écriture impossible : {os_error_text(error)}").render(), err=True)
        how, code = "arrêté", BAD_INPUT if output != "-" else OUTPUT_FAILED
    else:
        click.echo(f"un processus de calcul a échoué : {error}", err=True)
        how, code = "arrêté", 1
    lines = written.lines
    count = french.count
    done = (f"{count(lines, 'ligne traitée', 'lignes traitées')} ({count(written.decided, 'décision', 'décisions')}, "
            f"{count(written.refused, 'refusée', 'refusées')}) ; la sortie contient les décisions des lignes 1 à "
            f"{french.number(lines)}" if lines else "aucune ligne traitée ; la sortie est vide")
    click.echo(f"guichet batch {how} : {done}.", err=True)
    return code


def _input(path: str, files: ExitStack) -> tuple[IO[bytes], str]:
    """A file of JSON Lines named on the command line, to read in a stream (« - »: standard
    input), and its name for messages; a regular file only (``reading.files``)."""
    if path == "-":
        return sys.stdin.buffer, STDIN
    return files.enter_context(open_regular(Path(path), path, _STREAM_HINT)), path


def _portfolio(path: str, files: ExitStack, registry: Registry) -> tuple[IO[bytes] | Workbook, str]:
    """A portfolio named on the command line, and its name for messages: a workbook (a name in
    .xlsx, or a file that is one), read and checked whole, its columns those the versions declare;
    else JSON Lines, to read in a stream (``_input``)."""
    from evaluator.workbook.layout import layout as workbook_layout
    from evaluator.workbook.reading import read_workbook

    if path != "-" and _is_workbook(path):
        return read_workbook(Path(path), path, workbook_layout(registry.versions)), path
    return _input(path, files)


def _is_workbook(path: str) -> bool:
    if path.lower().endswith(".xlsx"):
        return True
    try:
        with open_regular(Path(path), path) as file:
            return file.read(4) == b"PK\x03\x04"  # (a zip archive: no JSON Lines begins so)
    except InputError:  # (said when it is read as JSON Lines)
        return False


def _records_file(output: str) -> IO[bytes]:
    """Where a batch whose decisions go to a table (.csv, .xlsx) writes its short records first: an
    unnamed file beside the table, gone once closed."""
    try:
        return tempfile.TemporaryFile(dir=Path(output).resolve().parent)
    except OSError as error:
        raise InputError([Problem(output, f"écriture impossible : {os_error_text(error)}")]) from None


def _write_decisions(records: IO[bytes], output: str) -> None:
    """The table of the decisions (``workbook.decisions``), written whole from the short records."""
    from evaluator.workbook.decisions import write_table  # openpyxl only when a table is written

    records.seek(0)
    write_table(records, Path(output))


def _output(path: str) -> IO[bytes]:
    """The file named by ``-o``, opened for writing (emptied)."""
    try:
        return open(path, "wb")
    except OSError as error:
        raise InputError([Problem(path, f"ouverture impossible : {os_error_text(error)}")]) from None


@main.command()
@click.argument("source_file", metavar="ENTRÉE", type=str)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), metavar="SORTIE",
              help="Le fichier à écrire : un classeur .xlsx pour du JSON Lines, du JSON Lines pour un classeur.")
@version_option
@policy_dir_option
def convert(source_file: str, output: str, policy_version: str | None, policy_dir: str | None) -> None:
    """Convertit un portefeuille de demandes de JSON Lines (« - » : l'entrée standard) en classeur
    Excel (.xlsx), ou d'un classeur en JSON Lines, sans perte : les demandes relues sont les mêmes,
    et décident de même. Le classeur a une feuille par niveau de la demande, ses colonnes nommées par
    les informations que déclarent les versions, une feuille « Lisez-moi » et les listes déroulantes
    de la politique.

    Chaque demande est d'abord vérifiée par la version qui la régit (ou --policy-version) : le fichier
    est écrit entier, ou rien n'est écrit et chaque problème est dit (ligne et chemin, ou feuille et
    cellule)."""
    with _bad_input(), ExitStack() as files:
        registry = _registry(policy_dir)
        if policy_version is not None:
            registry.version(policy_version)
        if output == "-":
            raise InputError([Problem(output, "guichet convert écrit un fichier, entier ou pas du tout",
                                      hint="nommez-le : -o demandes.jsonl ou -o demandes.xlsx")])
        portfolio, source = _portfolio(source_file, files, registry)
        from evaluator.workbook.convert import to_json_lines, to_workbook  # openpyxl only here
        from evaluator.workbook.layout import layout as workbook_layout
        from evaluator.workbook.reading import Portfolio as Workbook

        to_workbook_file = Path(output).suffix.lower() == ".xlsx"
        if isinstance(portfolio, Workbook) == to_workbook_file:
            same = "un classeur, comme l'entrée" if to_workbook_file else "du JSON Lines, comme l'entrée"
            raise InputError([Problem(output, f"la sortie serait {same} : guichet convert passe de JSON Lines à un "
                                              "classeur (.xlsx), ou d'un classeur à JSON Lines",
                                      hint=f"nommez la sortie {'.jsonl' if to_workbook_file else '.xlsx'}")])
        if isinstance(portfolio, Workbook):
            count = to_json_lines(registry, portfolio, Path(output), policy_version)
        else:
            count = to_workbook(registry, portfolio, source, Path(output), workbook_layout(registry.versions),
                                policy_version)
    click.echo(f"{french.count(count, 'demande écrite', 'demandes écrites')} : {output}")


@main.command()
@click.option("--version", "version", default=None, metavar="VERSION",
              help="La version dont le modèle prend les colonnes et les listes (par défaut : la dernière).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), metavar="FICHIER",
              help="Le classeur à écrire (.xlsx).")
@policy_dir_option
def template(version: str | None, output: str, policy_dir: str | None) -> None:
    """Écrit un classeur Excel vide, prêt à remplir : une feuille par niveau de la demande (Demandes,
    Bénéficiaires, Dépenses, Pièces), les colonnes des informations que déclare la version, les
    listes déroulantes de la politique (catégories, natures de dépenses et de pièces, oui ou non…)
    et une feuille « Lisez-moi » qui explique chaque colonne. Ensuite : guichet batch modele.xlsx
    -o decisions.xlsx."""
    with _bad_input():
        if Path(output).suffix.lower() != ".xlsx":
            raise InputError([Problem(output, "le modèle est un classeur Excel", hint="nommez-le .xlsx")])
        registry = _registry(policy_dir)
        chosen = _chosen(registry, version)
        from evaluator.workbook.convert import write_template  # openpyxl only here
        from evaluator.workbook.layout import layout as workbook_layout

        write_template(Path(output), workbook_layout([chosen]))
    click.echo(f"Modèle de la version {chosen.version} écrit : {output}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=str)
@click.option("--kind", type=click.Choice(["auto", "policy", "application", "case"]), default="auto",
              help="Nature des fichiers (par défaut : reconnue au contenu).")
@policy_dir_option
def validate(files: tuple[str, ...], kind: str, policy_dir: str | None) -> None:
    """Vérifie des politiques (fichiers ou répertoires de versions), des demandes ou des fichiers de
    cas ; tous les problèmes sont listés."""
    problems: list[Problem] = []
    registry: Registry | None = None
    for name in files:
        try:
            if Path(name).is_dir():
                checked_set = Registry.from_directory(Path(name))
                click.echo(f"{checked_set.directory} : versions cohérentes — "
                           + " ; ".join(_version_line(p) for p in checked_set.versions) + ".")
                for path in checked_set.files.values():
                    _warn(stale_texts(path))
                continue
            raw, source = _read(name)
            document = _document(raw, source)
            detected = kind if kind != "auto" else _detect(document)
            if detected != "application" and name == "-":
                what = "une politique" if detected == "policy" else "un fichier de cas"
                raise InputError([Problem(source, f"{what} se vérifie par son chemin, pas sur l'entrée standard",
                                          hint="donnez le chemin du fichier : son répertoire compte (verrou, "
                                               "fichiers qu'il nomme)")])
            if detected == "policy":
                policy = load_policy_file(Path(name))
                lock = read_lock(Path(name).parent)
                lock_check = lock_problems(Path(name).parent, {policy.version: Path(name)}, {policy.version: policy},
                                           {k: v for k, v in lock.items() if k == policy.version})
                if lock_check:
                    raise InputError(lock_check)
                click.echo(f"{source} : politique {policy.id} {policy.version} valide.")
                _warn(stale_texts(Path(name)))
            elif detected == "case":
                from evaluator.testing.cases import load_cases

                click.echo(f"{source} : {len(load_cases(Path(name)))} cas valides.")
            else:
                registry = registry or _registry(policy_dir, "refuse")
                policy = registry.governing(document)
                build_application(document, registry.checked(policy))
                click.echo(f"{source} : demande valide (politique {policy.version}).")
        except InputError as error:
            problems.extend(error.problems)
    if problems:
        with _bad_input():
            raise InputError(problems)


def _warn(warnings: list[Problem]) -> None:
    """Warnings go to standard error and leave the exit code alone."""
    for warning in warnings:
        click.echo(warning.render(), err=True)


def _version_line(policy: Policy) -> str:
    state = "publiée" if policy.status == "published" else "brouillon"
    return f"{policy.version} ({state}, à partir du {french.day(policy.effective_from)})"


def _detect(document: Document) -> str:
    data = document.data
    if isinstance(data, dict) and "cases" in data:
        return "case"
    if isinstance(data, dict) and "effective_from" in data and "rate" in data:
        return "policy"
    return "application"


@main.command("test")
@click.argument("paths", nargs=-1, type=str)
@click.option("-k", "keyword", default=None, metavar="EXPR",
              help="Ne lancer que les cas choisis : mots cherchés dans le nom du cas, de son fichier et sa clause "
                   "(sans tenir compte des majuscules ni des accents), reliés par and, or, not et parenthèses ; "
                   "une phrase entre guillemets. Ex. : -k \"fenetre and not veille\".")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              help="text : échecs et résumé en français ; json : résultats pour les outils.")
@click.option("--junit-xml", type=click.Path(dir_okay=False), default=None,
              help="Écrire aussi les résultats en JUnit XML (lu par GitLab, Jenkins…) dans ce fichier.",
              metavar="FICHIER")
@click.option("--fail-on-empty", is_flag=True, help="Échouer (code 1) quand aucun cas n'est lancé.")
@click.option("--coverage", "with_coverage", is_flag=True,
              help="Rapporter, règle par règle, les issues de la politique que les cas ont exercées.")
@click.option("--coverage-min", default=None, metavar="PCT",
              help="Échouer (code 1) si la couverture des règles est inférieure à PCT % (implique --coverage).")
@click.option("--coverage-json", type=click.Path(dir_okay=False), default=None,
              help="Écrire la couverture en JSON dans ce fichier (implique --coverage).", metavar="FICHIER")
@policy_dir_option
def run_tests(paths: tuple[str, ...], keyword: str | None, output_format: str, junit_xml: str | None,
              fail_on_empty: bool, with_coverage: bool, coverage_min: str | None, coverage_json: str | None,
              policy_dir: str | None) -> None:
    """Lance les cas de test (par défaut : tests/cases) et résume « N passed, N failed ».

    Codes de sortie : 0 tous les cas passent, 1 un cas échoue (ou aucun cas avec --fail-on-empty, ou
    une couverture sous --coverage-min), 2 entrée invalide (fichier de cas, demande d'un cas, option)."""
    from evaluator.testing.cases import Summary, collect, results_document, run_case, select
    from evaluator.testing.coverage import coverage as rule_coverage
    from evaluator.testing.coverage import parse_minimum, rule_lines, rules
    from evaluator.testing.coverage import render_text as coverage_text
    from evaluator.testing.junit import render_junit
    from evaluator.testing.selection import compile_selection

    with _bad_input():
        minimum = parse_minimum(coverage_min) if coverage_min is not None else None
        selection = compile_selection(keyword or "")
        registry = _registry(policy_dir)
        cases, problems = collect([Path(p) for p in paths] or [Path("tests/cases")])
        raise_if_any(problems)
    selected = select(cases, selection)
    results = [run_case(case, registry) for case in selected]
    summary = Summary.of(results, len(cases) - len(selected))
    report = None
    if with_coverage or minimum is not None or coverage_json:
        with _bad_input():
            documents = {p.version: load_document(read_regular(Path(p.origin), p.origin), p.origin)
                         for p in registry.versions}
        report = rule_coverage(registry.versions, [r.decision for r in results if r.decision is not None],
                               {p.version: rule_lines(documents[p.version], rules(p)) for p in registry.versions})
    writes = [(junit_xml, render_junit(results))] if junit_xml else []
    if coverage_json and report is not None:
        writes.append((coverage_json, json.dumps(report.to_dict(minimum), ensure_ascii=False, indent=2) + "\n"))
    with _bad_input():
        for target, text in writes:
            try:
                Path(target).parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise InputError([Problem(target, f"écriture impossible : {os_error_text(error)}")]) from None
            _write_text(target, text)
    if output_format == "json":
        document = results_document(results, summary)
        if report is not None:
            document["coverage"] = report.to_dict(minimum)
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for result in results:
            if not result.passed:
                click.echo(f"{'ERREUR' if result.verdict == 'error' else 'ÉCHEC'} {result.case.location} — "
                           f"{result.case.name}")
                for line in result.explanation():
                    click.echo("    " + line.replace("\n", "\n    "))
        if report is not None:
            click.echo("\n".join(coverage_text(report, minimum)))
        click.echo(summary.line())
    if summary.errors:
        click.echo(f"{summary.errors} cas dont la demande est refusée : corrigez le fichier de cas.", err=True)
        sys.exit(BAD_INPUT)
    if summary.failed:
        sys.exit(1)
    if fail_on_empty and not summary.ran:
        click.echo("aucun cas lancé (--fail-on-empty) : vérifiez les chemins et l'expression -k.", err=True)
        sys.exit(1)
    if minimum is not None and report is not None and not report.meets(minimum):
        click.echo(f"couverture des règles insuffisante : {report.covered}/{report.total} issues exercées, "
                   f"minimum exigé {coverage_min} %.", err=True)
        sys.exit(1)
    sys.exit(0)


@main.command()
@click.option("--version", "version", default=None, help="La version dont lister les faits (par défaut : la dernière).",
              metavar="VERSION")
@policy_dir_option
def facts(version: str | None, policy_dir: str | None) -> None:
    """Liste les faits qu'une expression de la politique peut lire, et quand ils sont connus."""
    with _bad_input():
        registry = _registry(policy_dir)
        chosen = _chosen(registry, version)
    table = chosen.facts
    click.echo(f"Faits de la version {chosen.version} ({chosen.origin}) :")
    for stage in Stage:
        click.echo(f"Faits connus dès {STAGE_WORDS[stage]} :")
        for fact in table.application.values():
            if fact.stage == stage:
                optional = ", facultatif" if fact.optional else ""
                click.echo(f"  {fact.name:<34} {fact.type.value}{optional} — {fact.label}")
    for level, title in zip(LEVELS[2:], ("d'une entité (catégories de bénéficiaires, agrégats)",
                                         "d'une ligne de dépenses (agrégats)", "d'une pièce (agrégats)"), strict=True):
        click.echo(f"Faits {title} :")
        for fact in table.items(level).values():
            optional = ", facultatif" if fact.optional else ""
            click.echo(f"  {fact.name:<34} {fact.type.value}{optional} — {fact.label}")


@main.group(subcommand_metavar="COMMANDE [ARGUMENTS]...")
def policy() -> None:
    """Créer et publier les versions d'une politique."""


@policy.command("new")
@click.argument("version")
@click.option("--from", "source_version", required=True, help="La version à copier.", metavar="VERSION")
@click.option("--effective-from", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="Date de dépôt à partir de laquelle la nouvelle version s'appliquera (AAAA-MM-JJ).",
              metavar="AAAA-MM-JJ")
@policy_dir_option
def policy_new(version: str, source_version: str, effective_from: datetime, policy_dir: str | None) -> None:
    """Écrit un brouillon de VERSION, copie d'une version existante, à amender."""
    from evaluator.versions.authoring import new_draft

    with _bad_input():
        directory = writing_directory(policy_dir)
        written = new_draft(Registry.from_directory(directory), version, source_version, effective_from.date())
    click.echo(f"Brouillon de la version {version} écrit : {written.path}")
    click.echo(f"  copie de la version {source_version}, applicable aux demandes déposées à partir du "
               f"{french.day(written.policy.effective_from)} une fois publiée.")
    where = f" --policy-dir {policy_dir}" if policy_dir else ""
    click.echo("Ensuite : amendez le fichier, puis")
    click.echo(f"  guichet validate {written.path}")
    click.echo(f"  guichet diff 1.0 {version}{where}".replace("1.0", source_version, 1))
    click.echo(f"  guichet policy publish {version}{where}")


@policy.command("publish")
@click.argument("version")
@click.option("--backdate", is_flag=True,
              help="Publier même si la date d'effet est passée : des demandes déjà déposées changent de version.")
@policy_dir_option
def policy_publish(version: str, backdate: bool, policy_dir: str | None) -> None:
    """Publie le brouillon VERSION : le vérifie avec les autres versions, le fige et inscrit son
    empreinte dans le verrou. Une date d'effet antérieure à aujourd'hui est refusée, sauf avec
    --backdate, qui dit alors quelles dates de dépôt changent de version."""
    from evaluator.versions.authoring import publish

    with _bad_input():
        written = publish(Registry.from_directory(writing_directory(policy_dir)), version, date.today(), backdate)
    click.echo(f"Version {version} publiée : {written.path}")
    click.echo(f"  applicable aux demandes déposées à partir du {french.day(written.policy.effective_from)}.")
    for period in written.reassigned:
        click.echo(f"  Publication rétroactive : {period.text()}.")
    click.echo(f"  empreinte sha256 {written.policy.sha256} inscrite dans {written.lock}.")
    click.echo("  Elle est désormais figée : tout amendement sera une nouvelle version.")


@main.command()
@click.argument("name", type=click.Choice(["policy", "application", "decision", "case"]))
@click.option("--version", "version", default=None,
              help="Pour « application » : le schéma des demandes de cette version (par défaut : la dernière).",
              metavar="VERSION")
@policy_dir_option
def schema(name: str, version: str | None, policy_dir: str | None) -> None:
    """Affiche un schéma JSON : policy, application (celui d'une version), decision ou case."""
    if name != "application":
        click.echo(json.dumps(bundled_schema(name), ensure_ascii=False, indent=2))
        return
    with _bad_input():
        registry = _registry(policy_dir)
        chosen = _chosen(registry, version)
    click.echo(json.dumps(application_schema(chosen.facts), ensure_ascii=False, indent=2))


@main.command()
@click.option("--version", "version", default=None, help="La version à documenter (par défaut : la dernière).",
              metavar="VERSION")
@click.option("--format", "output_format", type=click.Choice(["markdown", "html"]), default="markdown")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Fichier à écrire (par défaut : la sortie standard).", metavar="FICHIER")
@policy_dir_option
def docs(version: str | None, output_format: str, output: str | None, policy_dir: str | None) -> None:
    """Rend une version de la politique en document à relire contre le cahier des charges."""
    from evaluator.versions.handbook import build as build_document
    from evaluator.versions.handbook import to_html as document_html
    from evaluator.versions.handbook import to_markdown as document_markdown

    with _bad_input():
        registry = _registry(policy_dir)
        chosen = _chosen(registry, version)
    blocks = build_document(chosen)
    text = (document_html(blocks, f"{chosen.title} — version {chosen.version}") if output_format == "html"
            else document_markdown(blocks))
    if output is None:
        click.echo(text, nl=False)
    else:
        with _bad_input():
            _write_text(output, text)
        click.echo(f"Documentation de la version {chosen.version} écrite : {output}")


@main.command()
@click.argument("old_version")
@click.argument("new_version")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "html", "json"]), default="text")
@policy_dir_option
def diff(old_version: str, new_version: str, output_format: str, policy_dir: str | None) -> None:
    """Liste, en termes métier, ce qui change d'une version à l'autre : pour chaque règle nouvelle ou
    modifiée, sa condition en clair, sa valeur, ses issues et sa clause (html : une page à relire)."""
    from evaluator.versions.diff import compare as compare_versions
    from evaluator.versions.diff import to_html as diff_html
    from evaluator.versions.diff import to_markdown as diff_markdown
    from evaluator.versions.diff import to_text as diff_text

    with _bad_input():
        registry = _registry(policy_dir)
        old, new = registry.version(old_version), registry.version(new_version)
    changes = compare_versions(old, new)
    if output_format == "json":
        click.echo(json.dumps({"from": old.version, "to": new.version, "changes": [c.to_dict() for c in changes]},
                          ensure_ascii=False, indent=2))
    elif output_format == "markdown":
        click.echo(diff_markdown(old, new, changes), nl=False)
    elif output_format == "html":
        click.echo(diff_html(old, new, changes), nl=False)
    else:
        click.echo(diff_text(old, new, changes), nl=False)


@main.command()
@click.option("--from", "old_version", required=True, help="La version en vigueur.", metavar="VERSION")
@click.option("--to", "new_version", required=True, help="La version envisagée (un brouillon convient).",
              metavar="VERSION")
@click.argument("applications", type=str)
@click.option("--format", "output_format", type=click.Choice(["text", "json", "xlsx"]), default="text",
              help="text : rapport en français ; json : les mêmes chiffres en données (codes et nombres) ; "
                   "xlsx : un classeur (avec -o).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, metavar="FICHIER",
              help="Fichier à écrire (par défaut : la sortie standard ; obligatoire pour xlsx).")
@click.option("--limit", type=click.IntRange(min=0), default=LIMIT, show_default=True, metavar="N",
              help="Nombre de demandes qui changent (et de lignes refusées) listées ; les autres sont comptées.")
@workers_option
@policy_dir_option
def impact(old_version: str, new_version: str, applications: str, output_format: str, output: str | None,
           limit: int, workers: int | None, policy_dir: str | None) -> None:
    """Évalue un portefeuille de demandes (JSON Lines ou classeur .xlsx) sous deux versions et résume ce qui change :
    par statut, par catégorie du demandeur et par règle dont l'issue change, les crédits du
    programme avant et après, et les demandes qui changent, avec leurs règles. En flux (mémoire
    constante), sur les processus de calcul de guichet batch."""
    from evaluator.versions.impact import Amendment, Report
    from evaluator.workbook.reading import Portfolio as Workbook

    with _bad_input(), ExitStack() as files:
        if output_format == "xlsx" and output is None:
            raise InputError([Problem("--format xlsx", "un classeur s'écrit dans un fichier",
                                      hint="nommez-le : -o impact.xlsx")])
        registry = _registry(policy_dir)
        old, new = (registry.checked(registry.version(v)) for v in (old_version, new_version))
        stream, source = _portfolio(applications, files, registry)
        _refuse_same_file(stream if not isinstance(stream, Workbook) else applications, output or "-")
        amendment = Amendment.between(old, new)
        report = Report(amendment, limit)
        _summarised("impact", stream, source, amendment.summarise, workers, report.add, new.statuses)
        if output_format == "xlsx":
            data = report.workbook()
        else:
            data = (json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n" if output_format == "json"
                    else report.text()).encode("utf-8")
        if output is not None:
            write_atomically(Path(output), data)
    if output is None:
        click.echo(data, nl=False)
    _refused_lines(report.refusals.count, source, "dans l'impact")


@main.command()
@click.argument("applications", type=str)
@click.option("--policy-version", default=None, metavar="VERSION",
              help="Décider toutes les demandes par cette version, et en prendre les crédits.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              help="text : rapport en français ; json : les mêmes chiffres en données.")
@click.option("--limit", type=click.IntRange(min=0), default=LIMIT, show_default=True, metavar="N",
              help="Nombre de lignes refusées listées ; les autres sont comptées.")
@workers_option
@policy_dir_option
def budget(applications: str, policy_version: str | None, output_format: str, limit: int, workers: int | None,
           policy_dir: str | None) -> None:
    """Engage la subvention des demandes éligibles d'un portefeuille (JSON Lines ou classeur .xlsx), dans l'ordre de
    leur dépôt, sur les crédits du programme : montant engagé, reste, et la demande à laquelle les
    crédits s'épuisent, pour toute la période et par année de dépôt.

    Chaque demande est décidée par la version en vigueur à sa date de dépôt (ou par --policy-version) ;
    les crédits sont ceux de la version nommée, sinon de la version en vigueur aujourd'hui."""
    from evaluator.versions.budget import Portfolio, commitments

    with _bad_input(), ExitStack() as files:
        registry = _registry(policy_dir)
        credits = registry.version(policy_version) if policy_version else registry.in_force(date.today())
        if not credits.budget.declared:
            raise InputError([Problem(str(credits.origin), f"la version {credits.version} ne déclare pas les "
                                                           "crédits du programme (section « budget »)",
                                      hint="--policy-version : une version qui les déclare")])
        stream, source = _portfolio(applications, files, registry)
        portfolio = Portfolio(credits, policy_version is not None, limit)
        _summarised("budget", stream, source, commitments(registry, policy_version), workers, portfolio.add,
                    credits.statuses)
    click.echo(json.dumps(portfolio.to_dict(), ensure_ascii=False, indent=2) if output_format == "json"
               else portfolio.text(), nl=output_format == "json")
    _refused_lines(portfolio.refusals.count, source, "dans les engagements")


def _summarised(command: str, stream: IO[bytes] | Workbook, source: str, summarise: Summarise[Any],
                workers: int | None, take: Callable[[Any], None], statuses: Statuses) -> None:
    """Each line of a portfolio summed up on the batch's workers (``summarise``) and its record
    given to ``take``, in order, with the progress on a terminal. Interrupted, or a worker that
    fails: said, and the command exits (130, 143 or 1) having written nothing."""
    from evaluator.service.batch import Failed as BatchFailed
    from evaluator.service.batch import Interrupted, summaries
    from evaluator.service.progress import follow, size_of
    from evaluator.workbook.reading import Portfolio as Workbook

    progress = (follow(sys.stderr, len(stream), in_bytes=False) if isinstance(stream, Workbook)
                else follow(sys.stderr, size_of(stream)))
    try:
        with closing(summaries(stream, source, summarise, workers=workers or os.cpu_count() or 1,
                               progress=progress.update)) as records:
            for record in records:
                take(record)
    except (KeyboardInterrupt, InputError, BatchFailed) as error:
        progress.stop()
        if isinstance(error, InputError):
            raise
        if isinstance(error, KeyboardInterrupt):
            number = error.signal if isinstance(error, Interrupted) else signal.SIGINT
            how, code = f"interrompu ({'Ctrl-C' if number == signal.SIGINT else 'SIGTERM'})", 128 + number
        else:
            click.echo(f"un processus de calcul a échoué : {error}", err=True)
            how, code = "arrêté", 1
        lines = french.count(progress.tally.lines, "ligne lue", "lignes lues")
        click.echo(f"guichet {command} {how} après {lines} : rien n'est écrit.", err=True)
        sys.exit(code)
    progress.finish(progress.tally, statuses)


def _refused_lines(refused: int, source: str, where: str) -> None:
    """Exit 2, saying so, when lines of the portfolio were refused (each is listed in the report)."""
    if refused:
        plural = "s" if refused > 1 else ""
        click.echo(f"{french.count(refused, 'ligne refusée', 'lignes refusées')} sur {source}, non comptée{plural} "
                   f"{where} : corrigez-la{plural}.", err=True)
        sys.exit(BAD_INPUT)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.", metavar="ADRESSE")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port d'écoute.",
              metavar="PORT")
@policy_dir_option
@click.option("--decision-log", type=click.Path(dir_okay=False), default=None,
              help="Tenir le journal des décisions dans ce fichier (JSON Lines, ajouts seulement).", metavar="FICHIER")
@click.option("--log-inputs", is_flag=True,
              help="Enregistrer aussi chaque demande dans le journal, pour pouvoir la rejouer (guichet replay).")
@click.option("--max-body", type=click.IntRange(min=1), default=None, metavar="OCTETS",
              help="Taille maximale d'un corps de requête (par défaut : 1 Mio) ; au-delà : 413.")
@click.option("--max-batch", type=click.IntRange(min=1), default=None, metavar="N",
              help="Nombre maximal de demandes d'un lot (par défaut : 1000).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Recharger les politiques quand leurs fichiers changent (SIGHUP les recharge aussi).")
@click.option("--watch-interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True, metavar="SECONDES",
              help="Intervalle de surveillance des fichiers des politiques.")
@click.option("--access-log", is_flag=True, help="Journaliser chaque requête.")
def serve(host: str, port: int, policy_dir: str | None, decision_log: str | None, log_inputs: bool,
          max_body: int | None, max_batch: int | None, watch: bool, watch_interval: float, access_log: bool) -> None:
    """Lance le service HTTP : POST /v1/decisions, POST /v1/decisions:batch, GET /v1/policies,
    GET /v1/policies/{version}, GET /v1/policies/{version}/doc, GET /healthz, GET /openapi.json.

    Les politiques sont rechargées à chaud : un ensemble invalide est refusé, et le précédent reste
    en service (GET /healthz montre l'erreur)."""
    import logging

    from evaluator.service.decision_log import DecisionLog
    from evaluator.service.http import MAX_BATCH, MAX_BODY_BYTES, Limits
    from evaluator.service.http import run as run_server
    from evaluator.service.live import LiveRegistry

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s : %(message)s")
    with _bad_input():
        live = LiveRegistry(reading_directory(policy_dir))
        log = DecisionLog(Path(decision_log), store_input=log_inputs) if decision_log else None
    limits = Limits(max_body or MAX_BODY_BYTES, max_batch or MAX_BATCH)
    run_server(live, host=host, port=port, decision_log=log, limits=limits,
               watch_interval=watch_interval if watch else None, access_log=access_log)


@main.command()
@click.argument("log_file", metavar="JOURNAL", type=str)
@click.option("--same-version", is_flag=True,
              help="Rejouer chaque décision avec la version qui l'a prise (par défaut : la version choisie comme "
                   "alors, en vigueur à la date de dépôt ou demandée).")
@policy_dir_option
def replay(log_file: str, same_version: bool, policy_dir: str | None) -> None:
    """Rejoue les demandes d'un journal des décisions (guichet serve --decision-log --log-inputs) et
    signale toute décision qui serait différente.

    Codes de sortie : 0 aucune différence, 1 une décision au moins serait différente, 2 entrée
    invalide (journal illisible, ligne mal formée, politiques invalides)."""
    from evaluator.service.decision_log import replay as replay_log

    with _bad_input(), ExitStack() as files:
        registry = _registry(policy_dir)
        stream, source = _input(log_file, files)
        result = replay_log(registry, json_lines(stream, source), source, same_version=same_version)
    for difference in result.differences:
        click.echo(difference.render(source))
    for problem in result.problems:
        click.echo(problem.render(), err=True)
    click.echo(result.summary())
    if result.without_input and not result.replayed:
        click.echo("Aucune demande enregistrée : lancez le service avec --log-inputs pour pouvoir rejouer.")
    if result.problems:
        sys.exit(BAD_INPUT)
    if result.differences:
        sys.exit(1)


if __name__ == "__main__":
    main()
