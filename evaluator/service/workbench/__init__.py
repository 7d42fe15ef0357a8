"""The workbench: French web pages for programme staff, served by ``guichet serve`` beside the API,
from the same live registry. Read-only: it never edits nor publishes a policy; an upload is
bounded in size, read in memory and never stored.

    GET  /                    the versions: published, in force today, drafts; the one in force on a date
    GET  /versions/{v}        a version as the cahier des charges says it (``guichet docs --format html``)
    GET  /simuler             an application form built from the version's declared facts
    POST /simuler             add or remove a row, prefill from an uploaded application, or decide
    GET  /comparer?de=&a=     what changes from one version to another (``guichet diff --format html``)
    GET  /impact, POST        a portfolio (JSON Lines) decided under two versions, with charts
    GET  /docs                the API documentation (Swagger UI, shipped in a package)
"""

from evaluator.service.workbench.pages import routes

__all__ = ["routes"]
