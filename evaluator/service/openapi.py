"""The OpenAPI 3.1 document of the HTTP service (``evaluator.service.http``).

The bodies are described by the project's own JSON Schemas, taken as they are: each schema becomes a
component, its ``$defs`` become components beside it (``Application.entity``) and its internal
references are pointed at them. ``Decision`` and ``Policy`` are the bundled schemas of ``schemas/``;
``Application`` is the application schema of the version the document describes (the newest of the
registry served: the structure of ``schemas/application.schema.json`` with the fields the version
declares in its ``facts`` section). Nothing is written twice, so the document cannot drift from what
the service checks. The request examples are the example applications of ``examples/``, those the
version described accepts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from evaluator.reading.parse import load_document
from evaluator.reading.resources import examples_dir, schema

if TYPE_CHECKING:
    from evaluator.core.policy import Policy

_POLICY = schema("policy")["properties"]
"""The policy schema's properties: a version's status and number are those it defines."""

_BUNDLED = {"Decision": "decision", "Policy": "policy"}
_DEFS = "#/$defs/"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _components_of(name: str, root: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema as components: itself under ``name``, each of its ``$defs`` as ``name.def``."""
    document = copy.deepcopy(dict(root))
    for key in ("$schema", "$id"):
        document.pop(key, None)
    definitions: dict[str, Any] = document.pop("$defs", {})
    found = {name: document, **{f"{name}.{key}": value for key, value in definitions.items()}}
    for value in found.values():
        _point_refs(value, name)
    return found


def _point_refs(node: Any, name: str) -> None:
    if isinstance(node, dict):
        target = node.get("$ref")
        if isinstance(target, str) and target.startswith(_DEFS):
            rest = target.removeprefix(_DEFS)
            if "/" in rest:
                raise ValueError(f"référence non prise en charge dans le schéma {name} : {target}")
            node["$ref"] = f"#/components/schemas/{name}.{rest}"
        for item in node.values():
            _point_refs(item, name)
    elif isinstance(node, list):
        for item in node:
            _point_refs(item, name)


_NULLABLE_TEXT = {"type": ["string", "null"]}
_OMITTED = {"type": "integer", "minimum": 1,
            "description": "Combien de problèmes ont été trouvés en plus de ceux listés (absent : aucun)."}

_OWN: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "Un problème de la requête : où il est (chemin JSON), ce qui ne va pas et comment y remédier.",
        "additionalProperties": False,
        "required": ["source", "line", "column", "path", "message", "hint"],
        "properties": {
            "source": {"type": "string", "description": "« requête », ou le paramètre en cause."},
            "line": {"type": ["integer", "null"], "minimum": 1},
            "column": {"type": ["integer", "null"], "minimum": 1},
            "path": {**_NULLABLE_TEXT,
                     "description": "Chemin JSON de la valeur en cause, par exemple expenses[2].amount."},
            "message": {"type": "string", "description": "Le problème, en français."},
            "hint": {**_NULLABLE_TEXT, "description": "Un conseil pour corriger, s'il y en a un."},
        },
    },
    "Error": {
        "type": "object",
        "description": "Une requête refusée, avec ses problèmes (les premiers, et le nombre des autres).",
        "additionalProperties": False,
        "required": ["status", "message", "problems"],
        "properties": {
            "status": {"const": "error"},
            "message": {"type": "string", "description": "Ce qui ne va pas, en français."},
            "problems": {"type": "array", "items": _ref("Problem")},
            "omitted": _OMITTED,
        },
    },
    "BatchError": {
        "type": "object",
        "description": "Une demande d'un lot refusée : son rang dans le lot (à partir de 0) et ses problèmes (les "
                       "premiers, et le nombre des autres).",
        "additionalProperties": False,
        "required": ["index", "status", "problems"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "status": {"const": "error"},
            "problems": {"type": "array", "items": _ref("Problem")},
            "omitted": _OMITTED,
        },
    },
    "PolicyVersion": {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "version", "status", "effective_from", "sha256", "title", "in_force"],
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "string"},
            "status": {"enum": list(_POLICY["status"]["enum"])},
            "effective_from": {"type": "string", "format": "date",
                               "description": "Date de dépôt à partir de laquelle la version s'applique."},
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "Empreinte du fichier."},
            "title": {"type": "string"},
            "in_force": {"type": "boolean", "description": "La version en vigueur aujourd'hui."},
        },
    },
    "PolicyList": {
        "type": "object",
        "additionalProperties": False,
        "required": ["generation", "loaded_at", "versions"],
        "properties": {
            "generation": {"type": "integer", "minimum": 1,
                           "description": "Rang de l'ensemble de versions chargé (croît à chaque rechargement)."},
            "loaded_at": {"type": "string", "format": "date-time"},
            "versions": {"type": "array", "items": _ref("PolicyVersion")},
        },
    },
    "Health": {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "ready", "generation", "loaded_at", "versions", "watching", "reload_error"],
        "properties": {
            "status": {"enum": ["ok", "indisponible"]},
            "ready": {"type": "boolean", "description": "Un ensemble de politiques valide est chargé."},
            "generation": {"type": ["integer", "null"]},
            "loaded_at": {"type": ["string", "null"], "format": "date-time"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "watching": {"type": "boolean", "description": "Les fichiers des politiques sont surveillés."},
            "reload_error": {
                "description": "Le dernier rechargement refusé (l'ensemble précédent reste en service), ou null.",
                "oneOf": [{"type": "null"}, {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["at", "problems"],
                    "properties": {"at": {"type": "string", "format": "date-time"},
                                   "problems": {"type": "array", "items": _ref("Problem")}},
                }],
            },
        },
    },
}


def _json(schema_: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": schema_}}}
    if headers:
        response["headers"] = headers
    return response


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


_EXAMPLE_FILES = {
    "commune": ("commune-simple.yaml", "Une commune seule : éligible"),
    "outre-mer": ("outre-mer-incomplete.json", "Une commune d'outre-mer, une pièce manquante : incomplet"),
}
"""The request examples: a name, the file of ``examples/`` and its summary."""


@cache
def example(name: str) -> dict[str, Any]:
    """The application of an example file of ``examples/`` (``commune-simple.yaml``), as JSON data."""
    path = examples_dir() / name
    data = _json_ready(load_document(path.read_bytes(), str(path)).data)
    if not isinstance(data, dict):
        raise ValueError(f"{path} : une demande est un objet")
    return data


def _json_ready(value: Any, numbers_only: bool = False) -> Any:
    """``value`` as plain JSON data: a decimal (the YAML loader's number with a fraction, or a very
    long integer; a version's bounds and defaults) becomes the integer or the float it is exactly,
    else its text (a float that comes nearest with ``numbers_only``, where a schema wants a number);
    dates are already texts (the loader keeps them as written)."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        number = float(value)
        return number if numbers_only or Decimal(repr(number)) == value else format(value, "f")
    if isinstance(value, dict):
        return {key: _json_ready(item, numbers_only) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item, numbers_only) for item in value]
    return value


def _examples(described: Policy | None) -> dict[str, dict[str, Any]]:
    """The example applications the version described accepts (all of them when none is), each
    checked as the service reads it: its JSON, numbers as decimals (a validator takes no float)."""
    found = {}
    for name, (file, summary) in _EXAMPLE_FILES.items():
        value = example(file)
        if described is None or described.application_check.validator.is_valid(
                json.loads(json.dumps(value), parse_float=Decimal)):
            found[name] = {"summary": summary, "value": copy.deepcopy(value)}
    return found


def _application(described: Policy | None) -> dict[str, Any]:
    """The components of the application schema of the version described, or of the structure every
    application has when no version is loaded."""
    if described is None:
        root = copy.deepcopy(schema("application"))
        root["description"] = ("Aucune version de la politique n'est chargée : la structure de toute demande, sans "
                               "les informations que chaque version déclare.")
    else:
        root = _json_ready(described.application_schema, numbers_only=True)
        root["description"] = (f"Demande selon la version {described.version} de la politique ; "
                               "GET /v1/policies/{version} donne les autres.")
    return _components_of("Application", root)


_VERSION_QUERY = {
    "name": "version", "in": "query", "required": False,
    "description": "Appliquer cette version (un brouillon convient) au lieu de celle en vigueur à la date de dépôt.",
    "schema": {"type": "string", "pattern": _POLICY["version"]["pattern"]},
}
_VERSION_PATH = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}, "example": "1.0",
                 "description": "Numéro de version, par exemple 1.0."}
_DECISION_ID = {"Guichet-Decision-Id": {
    "description": "Identifiant de la décision dans le journal des décisions (quand le service en tient un).",
    "required": False, "schema": {"type": "string", "format": "uuid"},
}}
_NOT_READY = {"503": _error("Aucune politique valide n'est chargée.")}
_BODY_ERRORS = {
    "400": _error("Le corps n'est pas un JSON lisible."),
    "408": _error("Le corps n'est pas arrivé à temps ; la connexion est fermée."),
    "413": _error("Le corps dépasse la taille admise, ou le lot le nombre de demandes admis."),
    "422": _error("La demande est invalide : ses problèmes, chacun avec son chemin JSON."),
    "503": _error("Aucune politique valide n'est chargée, ou la décision n'a pas pu être consignée dans le journal "
                  "des décisions (elle n'est alors pas rendue ; réessayer plus tard)."),
}


def document(described: Policy | None) -> dict[str, Any]:
    """The OpenAPI document, its ``Application`` the application schema of ``described`` (the newest
    version of the registry served; ``None`` when the service has none loaded: the structure every
    application has)."""
    components: dict[str, Any] = _application(described)
    for name, short in _BUNDLED.items():
        components.update(_components_of(name, schema(short)))
    components.update(copy.deepcopy(_OWN))
    examples = _examples(described)
    single = {"examples": examples} if examples else {}
    batch = {"example": [item["value"] for item in examples.values()]} if examples else {}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "guichet",
            "version": _version(),
            "description": "Décide les demandes de cofinancement du programme Territoires d'IA selon le cahier "
                           "des charges en vigueur, version par version. Montants en euros TTC, en chaînes "
                           "décimales dans les décisions.",
        },
        "paths": {
            "/v1/decisions": {"post": {
                "operationId": "decide",
                "summary": "Décider une demande",
                "parameters": [_VERSION_QUERY],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("Application"), **single}}},
                "responses": {"200": _json(_ref("Decision"), "La décision.", _DECISION_ID), **_BODY_ERRORS},
            }},
            "/v1/decisions:batch": {"post": {
                "operationId": "decideBatch",
                "summary": "Décider un lot de demandes",
                "description": "Une décision par demande, dans l'ordre ; une demande invalide, illisible (JSON "
                               "invalide, trop imbriquée) ou non consignée donne un enregistrement d'erreur à son "
                               "rang, et le lot continue.",
                "parameters": [_VERSION_QUERY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "array",
                    "description": "Des demandes (schéma Application), chacune vérifiée à part : une demande invalide "
                                   "ne fait pas refuser le lot, elle reçoit un BatchError à son rang.",
                    "items": {}}, **batch}}},
                "responses": {"200": _json({"type": "array",
                                            "items": {"anyOf": [_ref("Decision"), _ref("BatchError")]}},
                                           "Les décisions et les erreurs, dans l'ordre du lot."),
                              **_BODY_ERRORS},
            }},
            "/v1/policies": {"get": {
                "operationId": "listPolicies",
                "summary": "Les versions chargées",
                "responses": {"200": _json(_ref("PolicyList"), "Les versions, leur statut, leur date d'effet et leur "
                                                               "empreinte."), **_NOT_READY},
            }},
            "/v1/policies/{version}": {"get": {
                "operationId": "getPolicy",
                "summary": "Une version, en JSON",
                "description": "Les données du fichier YAML de la version.",
                "parameters": [_VERSION_PATH],
                "responses": {"200": _json(_ref("Policy"), "La version."),
                              "404": _error("Version inconnue."), **_NOT_READY},
            }},
            "/v1/policies/{version}/doc": {"get": {
                "operationId": "getPolicyDocument",
                "summary": "Le document d'une version, en HTML",
                "parameters": [_VERSION_PATH],
                "responses": {"200": {"description": "Le document à relire contre le cahier des charges.",
                                      "content": {"text/html": {"schema": {"type": "string"}}}},
                              "404": _error("Version inconnue."), **_NOT_READY},
            }},
            "/healthz": {"get": {
                "operationId": "health",
                "summary": "État du service",
                "responses": {"200": _json(_ref("Health"), "Prêt : un ensemble de politiques valide est chargé."),
                              "503": _json(_ref("Health"), "Pas prêt : aucune politique valide n'est chargée.")},
            }},
            "/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "Ce document",
                "responses": {"200": _json({"type": "object"}, "Le document OpenAPI du service.")},
            }},
        },
        "components": {"schemas": components},
    }


def _version() -> str:
    try:
        return metadata.version("guichet")
    except metadata.PackageNotFoundError:
        return "0"
