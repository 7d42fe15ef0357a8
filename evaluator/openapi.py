"""The OpenAPI 3.1 document of the HTTP service (``evaluator.server``).

The bodies are described by the project's own JSON Schemas (``schemas/``), taken as they are: each
schema becomes a component, its ``$defs`` become components beside it (``Application.entity``) and
its internal references are pointed at them. Nothing is written twice, so the document cannot drift
from what ``guichet validate`` checks.
"""

from __future__ import annotations

import copy
from importlib import metadata
from typing import Any

from evaluator.resources import schema

_POLICY = schema("policy")["properties"]
"""The policy schema's properties: a version's status and number are those it defines."""

_BUNDLED = {"Application": "application", "Decision": "decision", "Policy": "policy"}
_DEFS = "#/$defs/"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _components_of(name: str, short: str) -> dict[str, Any]:
    """A bundled schema as components: itself under ``name``, each of its ``$defs`` as ``name.def``."""
    document = copy.deepcopy(schema(short))
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
        "description": "Une requête refusée, avec tous ses problèmes.",
        "additionalProperties": False,
        "required": ["status", "message", "problems"],
        "properties": {
            "status": {"const": "error"},
            "message": {"type": "string", "description": "Ce qui ne va pas, en français."},
            "problems": {"type": "array", "items": _ref("Problem")},
        },
    },
    "BatchError": {
        "type": "object",
        "description": "Une demande d'un lot refusée : son rang dans le lot (à partir de 0) et ses problèmes.",
        "additionalProperties": False,
        "required": ["index", "status", "problems"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "status": {"const": "error"},
            "problems": {"type": "array", "items": _ref("Problem")},
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


EXAMPLE_APPLICATION: dict[str, Any] = {
    "reference": "DEM-2026-0001",
    "submitted_on": "2026-07-01",
    "applicant": {"name": "Commune de Saint-Exemple", "siren": "217500016", "category": "commune", "licences": 120},
    "solution": {"name": "Assistant documentaire", "editor": "Éditeur Souverain SAS", "kind": "general_purpose",
                 "editor_country": "FR", "hosting_countries": ["FR"], "processing_countries": ["FR"],
                 "model_provider_country": "FR", "auditability_commitment": True, "extra_eu_transfer": "none",
                 "eu_law_applicable": True, "extra_eu_jurisdiction": False, "reversibility": True,
                 "ai_act_compliant": True},
    "expenses": [{"kind": "licence", "amount": "14400.00", "months": 12, "label": "120 licences pour un an"},
                 {"kind": "training", "amount": "3000.00", "label": "Formation des agents"},
                 {"kind": "hardware", "amount": "2500.00", "label": "Postes de travail"}],
    "public_procurement_compliant": True,
    "documents": [{"kind": "quote"}, {"kind": "sovereignty_sheet"}, {"kind": "editor_attestation"}],
}
"""The application of ``examples/commune-simple.yaml``: eligible under version 1.0."""

EXAMPLE_INCOMPLETE: dict[str, Any] = {
    "reference": "DEM-2026-0003",
    "submitted_on": "2026-06-10",
    "applicant": {"name": "Commune de Sainte-Exemple (La Réunion)", "siren": "219740115", "category": "commune",
                  "licences": 60, "overseas": True},
    "solution": {"name": "Assistant d'accueil", "editor": "Éditeur Souverain SAS", "kind": "general_purpose",
                 "editor_country": "FR", "hosting_countries": ["FR"], "processing_countries": ["FR"],
                 "auditability_commitment": True, "extra_eu_transfer": "none", "eu_law_applicable": True,
                 "extra_eu_jurisdiction": False, "reversibility": True, "ai_act_compliant": True},
    "expenses": [{"kind": "licence", "amount": "10800.00", "months": 36, "label": "Abonnement de trois ans"},
                 {"kind": "configuration", "amount": "1500.00"}],
    "public_procurement_compliant": True,
    "documents": [{"kind": "quote"}, {"kind": "sovereignty_sheet"}],
}
"""The application of ``examples/outre-mer-incomplete.json``: a document is missing."""

_EXAMPLES = {
    "commune": {"summary": "Une commune seule : éligible", "value": EXAMPLE_APPLICATION},
    "outre-mer": {"summary": "Une commune d'outre-mer, une pièce manquante : incomplet", "value": EXAMPLE_INCOMPLETE},
}

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
    "413": _error("Le corps dépasse la taille admise, ou le lot le nombre de demandes admis."),
    "422": _error("La demande est invalide : tous ses problèmes, chacun avec son chemin JSON."),
    **_NOT_READY,
}


def document() -> dict[str, Any]:
    """The OpenAPI document, built from the bundled schemas."""
    components: dict[str, Any] = {}
    for name, short in _BUNDLED.items():
        components.update(_components_of(name, short))
    components.update(copy.deepcopy(_OWN))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "guichet",
            "version": _version(),
            "description": "Décide les demandes de cofinancement du programme Territoires d'IA selon le cahier "
                           "des charges en vigueur, version par version. Montants en euros TTC, en chaînes "
                           "décimales dans les décisions.",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": {
            "/v1/decisions": {"post": {
                "operationId": "decide",
                "summary": "Décider une demande",
                "parameters": [_VERSION_QUERY],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("Application"),
                                                                     "examples": _EXAMPLES}}},
                "responses": {"200": _json(_ref("Decision"), "La décision.", _DECISION_ID), **_BODY_ERRORS},
            }},
            "/v1/decisions:batch": {"post": {
                "operationId": "decideBatch",
                "summary": "Décider un lot de demandes",
                "description": "Une décision par demande, dans l'ordre ; une demande invalide donne un "
                               "enregistrement d'erreur à son rang, et le lot continue.",
                "parameters": [_VERSION_QUERY],
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "type": "array",
                    "description": "Des demandes (schéma Application), chacune vérifiée à part : une demande invalide "
                                   "ne fait pas refuser le lot, elle reçoit un BatchError à son rang.",
                    "items": {}}, "example": [EXAMPLE_APPLICATION, EXAMPLE_INCOMPLETE]}}},
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
