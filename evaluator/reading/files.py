"""Opening and reading the files a command is given, bounded, and the system's errors in French.

A file named where a document is expected must be a regular file: a device (``/dev/zero``), a
named pipe (FIFO) or a directory is refused at once, never read — ``/dev/zero`` has no end, and a
FIFO nobody writes to would block for ever. It is opened without blocking, so that a FIFO is
refused rather than waited on, and read up to ``MAX_DOCUMENT_BYTES``; a stream (standard input)
is read up to that limit too.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO

from evaluator.reading.parse import MAX_DOCUMENT_BYTES, too_large
from evaluator.reading.problems import InputError, Problem

_ERRORS = {
    errno.ENOENT: "fichier ou répertoire introuvable",
    errno.EACCES: "permission refusée",
    errno.EPERM: "opération non permise",
    errno.EISDIR: "c'est un répertoire",
    errno.ENOTDIR: "un élément du chemin n'est pas un répertoire",
    errno.ENOSPC: "plus de place sur le disque",
    errno.EDQUOT: "quota de disque dépassé",
    errno.EFBIG: "fichier trop volumineux pour le système",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.EIO: "erreur d'entrée-sortie",
    errno.EPIPE: "le lecteur a fermé le tube",
    errno.ELOOP: "trop de liens symboliques",
    errno.ENAMETOOLONG: "nom de fichier trop long",
    errno.EMFILE: "trop de fichiers ouverts",
    errno.ENXIO: "périphérique ou adresse introuvable",
    errno.EBUSY: "périphérique ou ressource occupé",
    errno.ETXTBSY: "fichier occupé",
    errno.EEXIST: "le fichier existe déjà",
}


def os_error_text(error: OSError) -> str:
    """What went wrong, in French: the system's own text is English (« No such file or directory »)."""
    if error.errno in _ERRORS:
        return _ERRORS[error.errno]
    name = errno.errorcode.get(error.errno, "") if error.errno is not None else ""
    return f"erreur du système {name or error.errno or ''}".rstrip()


_KINDS = ((stat.S_ISDIR, "c'est un répertoire"), (stat.S_ISFIFO, "c'est un tube nommé (FIFO)"),
          (stat.S_ISCHR, "c'est un périphérique"), (stat.S_ISBLK, "c'est un périphérique"),
          (stat.S_ISSOCK, "c'est une socket"))


def open_regular(path: Path, source: str, hint: str | None = None) -> IO[bytes]:
    """``path`` opened for reading when it is a regular file (a link to one included); bad input
    otherwise, named ``source``, with ``hint`` for a device, a FIFO or a socket."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        raise InputError([Problem(source, f"lecture impossible : {os_error_text(error)}")]) from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = next((said for test, said in _KINDS if test(mode)), "ce n'est pas un fichier ordinaire")
        raise InputError([Problem(source, f"lecture impossible : {kind} ; un fichier ordinaire est attendu",
                                  hint=None if stat.S_ISDIR(mode) else hint)])
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def read_regular(path: Path, source: str, hint: str | None = None) -> bytes:
    """The bytes of a regular file of at most ``MAX_DOCUMENT_BYTES`` (``open_regular``)."""
    with open_regular(path, source, hint) as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_DOCUMENT_BYTES:
            raise too_large(source, size)
        return read_bounded(file, source)


def read_bounded(stream: IO[bytes], source: str) -> bytes:
    """At most ``MAX_DOCUMENT_BYTES`` of ``stream`` (standard input, say), which may be endless:
    bad input beyond."""
    try:
        data = stream.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as error:
        raise InputError([Problem(source, f"lecture impossible : {os_error_text(error)}")]) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise too_large(source, None)
    return data
