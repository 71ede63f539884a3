"""Recognise uploaded materials by their content, never by their name (申请材料格式识别).

Accepted: PDF, JPEG, PNG and OFD (GB/T 33190, the national fixed-layout format: a ZIP package
whose root holds ``OFD.xml``). Magic numbers come from the ``filetype`` library; an OFD is a ZIP
that must really open and contain ``OFD.xml``.
"""

from __future__ import annotations

import io
import zipfile

import filetype

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
OFD = "application/ofd"
ACCEPTED = (PDF, JPEG, PNG, OFD)
EXTENSIONS = {PDF: "pdf", JPEG: "jpg", PNG: "png", OFD: "ofd"}


def sniff(data: bytes) -> str | None:
    """The accepted content type of ``data``, or None when it is none of them."""
    kind = filetype.guess(data[:8192])
    mime = kind.mime if kind is not None else None
    if mime in (PDF, JPEG, PNG):
        return mime
    if mime == "application/zip" and _is_ofd(data):
        return OFD
    return None


def _is_ofd(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return "OFD.xml" in package.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False
