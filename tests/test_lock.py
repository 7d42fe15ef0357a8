"""The lock file read as the bad input it may be (issue 14, item 9): a malformed ``lock.json`` is
refused with every problem, located, in French, exit 2 — never a traceback (``"sha256": 5`` gave a
``TypeError``, deep nesting a ``RecursionError``); and the ``pending`` entry a publication writes
first counts only once the version's file has the content it locks."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from conftest import ROOT, policy_directory
from evaluator import InputError, LiveRegistry, Registry
from evaluator.versions.authoring import new_draft
from evaluator.versions.lock import LOCK_NAME, digest, read_lock

SHA = "29db70e2315947448d9428ce8a35cb7b4dc7cce4824022ba71938e6ee90e421b"


def entry(**changes: object) -> dict[str, object]:
    return {"sha256": SHA, "effective_from": "2026-05-22", "published_on": "2026-05-21", **changes}


@pytest.mark.parametrize(("lock", "expected"), [
    (json.dumps({"versions": {"1.0": entry(sha256=5)}}), "« 5 » n'a pas la forme attendue (à versions.1.0.sha256)"),
    (json.dumps({"versions": {"1.0": entry(sha256="abc")}}), "n'a pas la forme attendue (à versions.1.0.sha256)"),
    ('{"versions": ' + "[" * 300 + "]" * 300 + "}", "imbrication trop profonde (plus de 64 niveaux)"),
    (json.dumps({"versions": {"1.0": entry(effective_from="2026-02-30")}}),
     "« 2026-02-30 » n'est pas une date du calendrier (à versions.1.0.effective_from)"),
    (json.dumps({"versions": {"1.0": entry(published_on=20260521)}}), "(à versions.1.0.published_on)"),
    (json.dumps({"versions": {"un": entry()}}), "clé « un » non admise ici (à versions.un)"),
    (json.dumps({"versions": {"1.0": {"sha256": SHA}}}), "clés obligatoires manquantes"),
    (json.dumps({"versions": {"1.0": entry(signed=True)}}), "clé inconnue : « signed »"),
    (json.dumps({"versions": []}), "liste là où un dictionnaire (clé: valeur) est attendu (à versions)"),
    (json.dumps([1, 2]), "liste là où un dictionnaire (clé: valeur) est attendu (à $)"),
    ("{", "valeur attendue"),
    ("", "le fichier est vide"),
])
def test_a_malformed_lock_is_bad_input_in_french(tmp_path: Path, lock: str, expected: str):
    directory = policy_directory(tmp_path)
    (directory / LOCK_NAME).write_text(lock, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        Registry.from_directory(directory)
    rendered = "\n".join(problem.render() for problem in raised.value.problems)
    assert expected in rendered and str(directory / LOCK_NAME) in rendered
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), "validate", str(directory)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr and "Error" not in result.stderr
    with pytest.raises(InputError):  # a service does not start on it
        LiveRegistry(directory)


def test_a_pending_entry_counts_once_the_file_has_the_content_it_locks(tmp_path: Path):
    """What a publication stopped between its writes leaves: the entry, ``pending``, for a draft
    whose file is not yet the published one, is not a lock (the draft stays a draft); for the file
    it locks, it is one."""
    directory = policy_directory(tmp_path)
    new_draft(Registry.from_directory(directory), "1.1", "1.0", date(2027, 1, 1))
    draft = directory / "1.1.yaml"
    text = draft.read_text(encoding="utf-8").replace("status: draft", "status: published")
    lock_path = directory / LOCK_NAME
    lock = json.loads(lock_path.read_text(encoding="utf-8"))
    lock["versions"]["1.1"] = entry(sha256=digest(text.encode()), effective_from="2027-01-01", pending=True)
    lock_path.write_text(json.dumps(lock), encoding="utf-8")
    assert "1.1" not in read_lock(directory)
    assert Registry.from_directory(directory).version("1.1").status == "draft"
    draft.write_text(text, encoding="utf-8")
    assert read_lock(directory)["1.1"].pending
    assert Registry.from_directory(directory).version("1.1").status == "published"
    draft.write_text(text.replace("status: published", "status: published  # modifiée"), encoding="utf-8")
    with pytest.raises(InputError, match="publiée mais absente du verrou"):  # a pending entry is no cover
        Registry.from_directory(directory)
