"""License PDFs (电子证照版式文件): render, sign and check.

* :func:`render` lays out one A4 page with fpdf2: title, the identifier (证照标识), a two-column
  table of the holder and the license's fields, the validity period, the issuer and issue date,
  and a QR code (segno) to the public verification page. The text is real text: the Noto Sans
  CJK SC face is embedded as a subset with a ToUnicode map, so it can be searched and copied.
* :func:`sign` adds one invisible PAdES certification signature (pyHanko), offline: no
  timestamp server, no revocation information fetched.
* :func:`check` validates the signature against the given trust roots, offline.
* :func:`new_signing_certificate` makes the self-signed EC P-256 certificate a department signs
  its licenses with.

Fonts: fpdf2 parses the whole font file on every ``add_font`` and subsets it on every
``output``, about 0.6 s per PDF for the 65,000-glyph CJK collection, and its font object holds
per-document state (and is subset in place), so it cannot be reused between documents. This
module parses each face once per process instead and gives fpdf2, per document, a small
TrueType font with only that document's characters (see :class:`_Face`); warm, a render takes
about 50 ms.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import logging
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

DEFAULT_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SIGNATURE_FIELD = "Signature1"

logger = logging.getLogger(__name__)

_CHINA = dt.timezone(dt.timedelta(hours=8), "CST")


class LicenseFontMissing(FileNotFoundError):
    """The CJK font for license PDFs is not installed."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"License PDF font not found: {path}. Install it with "
            "`apt-get install fonts-noto-cjk`, or point the LICENSE_FONT setting at a CJK "
            "TrueType/OpenType font (.ttf, .otf, .ttc)."
        )
        self.path = path


@dataclass(frozen=True)
class Printout:
    """What a license PDF shows (证照版式内容)."""

    title: str  # license type name, e.g. "食品经营许可证"
    identifier: str  # the full 1.2.156.3005.2... identifier (证照标识)
    holder_name: str
    holder_code: str  # as printed (the caller masks a person's ID number)
    holder_code_label: str  # e.g. "统一社会信用代码" or "公民身份号码"
    fields: tuple[tuple[str, str], ...]  # (label, value) rows, Chinese
    issuer_name: str
    issued_on: dt.date
    valid_from: dt.date
    valid_until: dt.date | None  # None prints "长期"
    verify_url: str  # goes into the QR code and is printed under it


@dataclass(frozen=True)
class PdfCheck:
    """The result of :func:`check`. ``reason`` is "" when ``ok``, else one of
    "unreadable", "no_signature", "modified", "untrusted", "invalid"."""

    ok: bool
    reason: str
    signer: str  # the signer certificate's subject CN ("" if none)


# --- fonts ---------------------------------------------------------------------------------


class _Face:
    """One face of the CJK font, parsed once per process (about 0.25 s), that makes a small
    TrueType font with just the characters of one document.

    fpdf2 parses the whole font file on every ``add_font`` and subsets it on every ``output``
    (about 0.6 s per PDF for the 65,000-glyph collection), and it keeps per-document state in,
    and subsets in place, the font object it builds, so that object cannot be shared between
    documents. Handing fpdf2 a font of a hundred glyphs instead costs a few milliseconds.

    The small font has TrueType outlines (CFF curves converted to quadratic ones, within
    1/1000 em): for CID-keyed CFF fonts fpdf2 writes an embedded encoding CMap that pypdf's
    text extraction cannot read, while TrueType fonts get the plain Identity-H encoding.
    """

    def __init__(self, path: Path, index: int) -> None:
        from fontTools.ttLib import TTFont

        font = TTFont(str(path), fontNumber=index, lazy=True)
        atexit.register(font.close)  # read lazily for the life of the process
        self.path = path
        self._font = font
        self._glyph_set = font.getGlyphSet()
        self._cmap: dict[int, str] = font.getBestCmap() or {}
        self._metrics: dict[str, tuple[int, int]] = font["hmtx"].metrics
        self._cubic = "glyf" not in font
        head, hhea, os2, post = font["head"], font["hhea"], font["OS/2"], font["post"]
        self._upem: int = head.unitsPerEm
        self._head = {
            name: getattr(head, name) for name in ("created", "modified", "macStyle", "flags")
        }
        self._hhea = {name: getattr(hhea, name) for name in ("ascent", "descent", "lineGap")}
        self._os2 = {
            name: getattr(os2, name)
            for name in (
                "usWeightClass",
                "usWidthClass",
                "fsType",
                "fsSelection",
                "sTypoAscender",
                "sTypoDescender",
                "sTypoLineGap",
                "usWinAscent",
                "usWinDescent",
                "ySubscriptXSize",
                "ySubscriptYSize",
                "ySuperscriptXSize",
                "ySuperscriptYSize",
                "yStrikeoutSize",
                "yStrikeoutPosition",
                "sxHeight",
                "sCapHeight",
            )
            if hasattr(os2, name)
        }
        self._post = {
            name: getattr(post, name)
            for name in ("italicAngle", "underlinePosition", "underlineThickness", "isFixedPitch")
        }
        names = font["name"]
        family = str(names.getDebugName(16) or names.getDebugName(1) or path.stem)
        style = str(names.getDebugName(17) or names.getDebugName(2) or "Regular")
        self._names = {
            "familyName": family,
            "styleName": style,
            "fullName": str(names.getDebugName(4) or f"{family} {style}"),
            "psName": str(names.getDebugName(6) or f"{family}-{style}".replace(" ", "")),
        }
        self._outlines: dict[str, _Outline] = {}  # glyph name -> TrueType glyph, built once
        self._lock = threading.Lock()

    def _outline(self, name: str) -> _Outline:
        outline = self._outlines.get(name)
        if outline is None:
            from fontTools.pens.cu2quPen import Cu2QuPen
            from fontTools.pens.ttGlyphPen import TTGlyphPen

            pen = TTGlyphPen(None)
            target = (
                Cu2QuPen(pen, self._upem / 1000, reverse_direction=True) if self._cubic else pen
            )
            self._glyph_set[name].draw(target)
            glyph = pen.glyph()
            data = glyph.compile(None)  # also computes the glyph's bounds
            box = (
                (glyph.xMin, glyph.yMin, glyph.xMax, glyph.yMax)
                if glyph.numberOfContours
                else (0, 0, 0, 0)
            )
            outline = self._outlines[name] = _Outline(data, self._metrics[name][0], box)
        return outline

    def small_font(self, text: Iterable[str]) -> bytes:
        """A TrueType font with the glyphs of the characters in ``text`` (and the space)."""
        from fontTools.fontBuilder import FontBuilder
        from fontTools.ttLib import newTable
        from fontTools.ttLib.tables._g_l_y_f import Glyph

        wanted = {ord(c) for chunk in text for c in chunk} | {0x20}
        cmap = {point: self._cmap[point] for point in sorted(wanted) if point in self._cmap}
        order = [".notdef", *sorted(set(cmap.values()) - {".notdef"})]
        with self._lock:  # fontTools' lazy font and the outline cache are not thread-safe
            outlines = {name: self._outline(name) for name in order}
        builder = FontBuilder(self._upem, isTTF=True)
        font = builder.font
        font.recalcTimestamp = False  # same text, same bytes
        # The glyphs are compiled already; fpdf2 recomputes bounds and maxp when it subsets.
        font.recalcBBoxes = False
        builder.setupGlyphOrder(order)
        builder.setupCharacterMap(cmap)
        font["loca"] = newTable("loca")
        glyf = font["glyf"] = newTable("glyf")
        glyf.glyphOrder = order
        glyf.glyphs = {name: Glyph(outline.data) for name, outline in outlines.items()}
        builder.setupHorizontalMetrics(
            {name: (outline.advance, outline.box[0]) for name, outline in outlines.items()}
        )
        builder.setupHorizontalHeader(**self._hhea)
        builder.setupNameTable(self._names, mac=False)
        builder.setupOS2(**self._os2)
        builder.setupPost(**self._post)
        boxes = [outline.box for outline in outlines.values() if outline.box != (0, 0, 0, 0)]
        builder.updateHead(
            **self._head,
            xMin=min((box[0] for box in boxes), default=0),
            yMin=min((box[1] for box in boxes), default=0),
            xMax=max((box[2] for box in boxes), default=0),
            yMax=max((box[3] for box in boxes), default=0),
        )
        out = BytesIO()
        builder.save(out)
        return out.getvalue()


@dataclass(frozen=True)
class _Outline:
    data: bytes  # the compiled TrueType glyph
    advance: int
    box: tuple[int, int, int, int]  # xMin, yMin, xMax, yMax


@dataclass(frozen=True)
class _Fonts:
    regular: _Face
    bold: _Face | None  # None: no bold file next to the regular one; bold is simulated


_lock = threading.Lock()
_fonts: dict[tuple[str, int, int], _Fonts] = {}


def _setting(name: str) -> Any:
    """A Django setting, or None when Django is absent or not configured."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:  # pragma: no cover - Django is a dependency
        return None
    try:
        return getattr(settings, name, None)
    except ImproperlyConfigured:
        return None


def _font_source(font_path: str | None) -> Path:
    path = font_path or _setting("LICENSE_FONT") or DEFAULT_FONT
    source = Path(str(path))
    if not source.is_file():
        raise LicenseFontMissing(str(path))
    return source.resolve()


def _face_index(path: Path) -> int:
    """The Simplified Chinese face of a collection (Noto Sans CJK SC is face 2); 0 otherwise."""
    if path.suffix.lower() not in {".ttc", ".otc"}:
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(path), lazy=True)
    try:
        names = [
            str(font["name"].getDebugName(16) or font["name"].getDebugName(1) or "")
            for font in collection.fonts
        ]
    finally:
        collection.close()
    for wanted in (
        lambda n: n.endswith(" SC") and "Mono" not in n,
        lambda n: " SC" in n and "Mono" not in n,
        lambda n: " SC" in n,
    ):
        for index, name in enumerate(names):
            if wanted(name):
                return index
    return 0


def _bold_sibling(path: Path) -> Path | None:
    if "Regular" not in path.name:
        return None
    bold = path.with_name(path.name.replace("Regular", "Bold"))
    return bold if bold.is_file() else None


def _load_fonts(font_path: str | None) -> _Fonts:
    source = _font_source(font_path)
    stat = source.stat()
    key = (str(source), stat.st_size, stat.st_mtime_ns)
    with _lock:
        fonts = _fonts.get(key)
        if fonts is None:
            bold = _bold_sibling(source)
            fonts = _fonts[key] = _Fonts(
                _Face(source, _face_index(source)),
                None if bold is None else _Face(bold, _face_index(bold)),
            )
        return fonts


def prepare_fonts(*, font_path: str | None = None) -> None:
    """Parse the font now rather than at the first :func:`render` (about 0.5 s; call it when
    a worker starts). Raises :class:`LicenseFontMissing`."""
    _load_fonts(font_path)


# --- render ---------------------------------------------------------------------------------

_A4_W, _A4_H = 210.0, 297.0
_LEFT, _RIGHT = 25.0, 185.0
_LABEL_W = 44.0
_TABLE_TOP = 62.0
_FOOTER_TOP = 218.0
_QR_X, _QR_Y, _QR_SIZE = 27.0, 224.0, 35.0
_BORDER = (150, 30, 30)
_INK = (30, 30, 30)
_MUTED = (90, 90, 90)
_LABEL_FILL = (246, 241, 234)
_SCAN = "扫码验证"


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _validity(printout: Printout) -> str:
    until = "长期" if printout.valid_until is None else _date(printout.valid_until)
    return f"{_date(printout.valid_from)} 至 {until}"


def _rows(printout: Printout) -> list[tuple[str, str]]:
    return [
        ("持证主体", printout.holder_name),
        (printout.holder_code_label, printout.holder_code),
        *printout.fields,
        ("有效期限", _validity(printout)),
    ]


def _qr_png(url: str) -> BytesIO:
    import segno

    code = segno.make_qr(url, error="m", boost_error=False)
    png = BytesIO()
    code.save(png, kind="png", scale=8, border=0)
    png.seek(0)
    return png


def render(printout: Printout, *, font_path: str | None = None) -> bytes:
    """The unsigned one-page A4 PDF of a license. ``font_path`` (else the LICENSE_FONT setting,
    else Noto Sans CJK) is the regular face; a ``...Bold...`` file next to a ``...Regular...``
    one is used for the title. Same printout and font: same bytes.
    Raises :class:`LicenseFontMissing`."""
    fonts = _load_fonts(font_path)
    identifier_line = f"证照标识：{printout.identifier}"
    issuer_line = f"发证机关：{printout.issuer_name}"
    date_line = f"发证日期：{_date(printout.issued_on)}"
    rows = _rows(printout)
    regular_text = [
        identifier_line,
        issuer_line,
        date_line,
        _SCAN,
        printout.verify_url,
        *(text for row in rows for text in row),
    ]
    if fonts.bold is None:
        regular_text.append(printout.title)
    # fpdf2 reads fonts from files: the document's small fonts live in a private directory
    # until the PDF is written.
    with tempfile.TemporaryDirectory(prefix="onewindow-license-") as directory:
        regular = Path(directory) / "regular.ttf"
        regular.write_bytes(fonts.regular.small_font(regular_text))
        bold = None
        if fonts.bold is not None:
            bold = Path(directory) / "bold.ttf"
            bold.write_bytes(fonts.bold.small_font([printout.title]))
        return _draw(
            printout,
            regular=regular,
            bold=bold,
            rows=rows,
            lines=(identifier_line, issuer_line, date_line),
        )


def _draw(
    printout: Printout,
    *,
    regular: Path,
    bold: Path | None,
    rows: list[tuple[str, str]],
    lines: tuple[str, str, str],
) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import MethodReturnValue, TextMode, WrapMode

    identifier_line, issuer_line, date_line = lines
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(_LEFT, 20, _A4_W - _RIGHT)
    pdf.c_margin = 0
    pdf.add_font("cjk", "", str(regular))
    if bold is not None:
        pdf.add_font("cjk", "B", str(bold))
    pdf.set_title(printout.title)
    pdf.set_author(printout.issuer_name)
    pdf.set_subject(f"电子证照 {printout.identifier}")
    pdf.set_creator("OneWindow 一网通办")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(dt.datetime.combine(printout.issued_on, dt.time(), _CHINA))

    def page() -> None:
        pdf.add_page()
        pdf.set_draw_color(*_BORDER)
        pdf.set_line_width(0.8)
        pdf.rect(10, 10, _A4_W - 20, _A4_H - 20)
        pdf.set_line_width(0.25)
        pdf.rect(12.5, 12.5, _A4_W - 25, _A4_H - 25)
        pdf.set_text_color(*_INK)

    def fitted(text: str, style: str, size: float, width: float, smallest: float) -> None:
        pdf.set_font("cjk", style, size)
        while size > smallest and pdf.get_string_width(text) > width:
            size -= 0.5
            pdf.set_font("cjk", style, size)

    page()

    # Title (bold face, or the regular face drawn with an outline when there is no bold file).
    fitted(printout.title, "B" if bold else "", 26, 170, 14)
    pdf.set_xy(10, 26)
    if bold is None:
        pdf.text_mode = TextMode.FILL_STROKE
        pdf.set_draw_color(*_INK)
        pdf.set_line_width(0.35)
    pdf.cell(_A4_W - 20, 16, printout.title, align="C")
    pdf.text_mode = TextMode.FILL

    # Identifier line.
    pdf.set_text_color(*_MUTED)
    fitted(identifier_line, "", 9.5, _RIGHT - _LEFT, 6)
    pdf.set_xy(_LEFT, 46)
    pdf.cell(_RIGHT - _LEFT, 6, identifier_line, align="C")
    pdf.set_draw_color(*_BORDER)
    pdf.set_line_width(0.3)
    pdf.line(_LEFT, 55, _RIGHT, 55)

    # Holder and fields: label | value, wrapped by character, the biggest size that fits.
    pad = 2.4
    value_w = _RIGHT - _LEFT - _LABEL_W

    def wrapped(text: str, width: float, line_h: float) -> list[str]:
        result = pdf.multi_cell(
            width,
            line_h,
            text,
            wrapmode=WrapMode.CHAR,
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        lines = [str(line) for line in result] if isinstance(result, list) else [text]
        return lines or [""]

    def layout(size: float) -> tuple[float, list[tuple[list[str], list[str], float]]]:
        pdf.set_font("cjk", "", size)
        line_h = size * 0.3528 * 1.45
        laid = []
        for label, value in rows:
            label_lines = wrapped(label, _LABEL_W - 2 * pad, line_h)
            value_lines = wrapped(value, value_w - 2 * pad, line_h)
            height = max(len(label_lines), len(value_lines)) * line_h + 2 * pad
            laid.append((label_lines, value_lines, height))
        return line_h, laid

    for size in (12.0, 11.0, 10.0, 9.0):
        line_h, laid = layout(size)
        if _TABLE_TOP + sum(height for *_, height in laid) <= _FOOTER_TOP - 4:
            break
    pdf.set_text_color(*_INK)
    pdf.set_draw_color(*_MUTED)
    pdf.set_line_width(0.2)
    pdf.set_fill_color(*_LABEL_FILL)
    y = _TABLE_TOP
    for label_lines, value_lines, height in laid:
        if y + height > _A4_H - 20:  # only with very many fields: continue on a new page
            page()
            pdf.set_text_color(*_INK)
            pdf.set_draw_color(*_MUTED)
            pdf.set_line_width(0.2)
            pdf.set_fill_color(*_LABEL_FILL)
            y = 25.0
        pdf.rect(_LEFT, y, _LABEL_W, height, style="DF")
        pdf.rect(_LEFT + _LABEL_W, y, value_w, height)
        for cell_lines, x, width, align in (
            (label_lines, _LEFT, _LABEL_W, "C"),
            (value_lines, _LEFT + _LABEL_W + pad, value_w - 2 * pad, "L"),
        ):
            top = y + (height - len(cell_lines) * line_h) / 2
            for number, text in enumerate(cell_lines):
                pdf.set_xy(x, top + number * line_h)
                pdf.cell(width, line_h, text, align=align)
        y += height
    if y > _FOOTER_TOP - 4:
        page()

    # QR code to the verification page, "扫码验证" and the address under it.
    pdf.image(_qr_png(printout.verify_url), _QR_X, _QR_Y, _QR_SIZE, _QR_SIZE)
    pdf.set_text_color(*_INK)
    pdf.set_font("cjk", "", 9)
    pdf.set_xy(_QR_X - 10, _QR_Y + _QR_SIZE + 1.5)
    pdf.cell(_QR_SIZE + 20, 5, _SCAN, align="C")
    pdf.set_text_color(*_MUTED)
    pdf.set_font("cjk", "", 6.5)
    pdf.set_xy(_QR_X + _QR_SIZE / 2 - 30, _QR_Y + _QR_SIZE + 7)
    pdf.multi_cell(60, 3.2, printout.verify_url, align="C", wrapmode=WrapMode.CHAR)

    # Issuer and issue date, bottom right.
    pdf.set_text_color(*_INK)
    fitted(issuer_line, "", 13, _RIGHT - 100, 8)
    pdf.set_xy(100, 236)
    pdf.cell(_RIGHT - 100, 8, issuer_line, align="R")
    pdf.set_font("cjk", "", 12)
    pdf.set_xy(100, 246)
    pdf.cell(_RIGHT - 100, 8, date_line, align="R")

    return bytes(pdf.output())


# --- signing certificate --------------------------------------------------------------------


def new_signing_certificate(
    *, common_name: str, organisation: str, uscc: str, years: int = 10
) -> tuple[bytes, bytes]:
    """A new EC P-256 key and its self-signed certificate for signing license PDFs
    (电子证照签章证书): (PKCS#8 PEM private key, unencrypted; X.509 PEM).

    Subject C=CN, O=organisation, CN=common_name, and serialNumber=the unified social credit
    code (统一社会信用代码) when ``uscc`` is not empty. Key usage: digitalSignature and
    nonRepudiation (critical); not a CA.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from onewindow.kit.license_id import is_uscc

    if uscc and not is_uscc(uscc):
        raise ValueError(f"Not a unified social credit code: {uscc!r}")
    if years < 1:
        raise ValueError("A signing certificate is valid for at least one year.")
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if uscc:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, uscc))
    name = x509.Name(attributes)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=365 * years + years // 4))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


# --- sign and check -------------------------------------------------------------------------


def _outside_event_loop(what: str) -> None:
    """pyHanko runs its own event loop (asyncio.run): not possible inside a running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{what}() is synchronous; from async code, run it in a thread.")


def sign(pdf: bytes, *, key_pem: bytes, cert_pem: bytes, reason: str, location: str) -> bytes:
    """Sign ``pdf`` (an incremental update): one invisible PAdES certification signature
    (no further changes allowed), SHA-256, no timestamp server, no network."""
    from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    _outside_event_loop("sign")
    certificates = list(load_certs_from_pemder_data(cert_pem))
    if len(certificates) != 1:
        raise ValueError("cert_pem must hold exactly one certificate.")
    signer = signers.SimpleSigner(
        signing_cert=certificates[0],
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        cert_registry=SimpleCertificateStore.from_certs(certificates),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        reason=reason,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    output = BytesIO()
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=output)
    return output.getvalue()


# Markers of a signature dictionary; one changed byte cannot remove all of them.
_SIGNATURE_MARKERS = (b"/ByteRange", b"/ETSI.CAdES.detached", b"/Adobe.PPKLite", b"/DocMDP")


def _looks_signed(pdf: bytes) -> bool:
    """A PDF with a signature dictionary in it (damaged if it cannot be read as signed)."""
    return any(marker in pdf for marker in _SIGNATURE_MARKERS)


def _common_name(certificate: Any) -> str:
    if certificate is None:
        return ""
    value = certificate.subject.native.get("common_name", "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value)


def check(pdf: bytes, *, trust_cert_pems: list[bytes]) -> PdfCheck:
    """Validate the signatures of ``pdf`` offline, with ``trust_cert_pems`` as trust roots.

    ok only if there is at least one signature, every signature is intact, cryptographically
    valid and from a trusted certificate, and the last one covers the whole file. A change to
    the signed bytes is "modified" (also when it breaks the file's structure).
    """
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    _outside_event_loop("check")
    damaged = PdfCheck(False, "modified" if _looks_signed(pdf) else "unreadable", "")
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception:
        return damaged
    if not signatures:
        return damaged if damaged.reason == "modified" else PdfCheck(False, "no_signature", "")

    roots = [cert for pem in trust_cert_pems for cert in load_certs_from_pemder_data(pem)]
    signer = ""
    for position, signature in enumerate(signatures, start=1):
        try:
            signer = _common_name(signature.signer_cert)
        except Exception:
            signer = ""
        context = ValidationContext(
            trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"
        )
        try:
            status = validate_pdf_signature(signature, context)
        except Exception:
            logger.info("License PDF signature could not be validated", exc_info=True)
            return PdfCheck(False, "modified" if _digest_differs(signature) else "invalid", signer)
        if not status.intact:
            return PdfCheck(False, "modified", signer)
        if not status.valid:
            return PdfCheck(False, "invalid", signer)
        if not status.trusted:
            return PdfCheck(False, "untrusted", signer)
        last = position == len(signatures)
        if last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            return PdfCheck(False, "modified", signer)
        if not last and not status.docmdp_ok:
            return PdfCheck(False, "modified", signer)
        if not _only_zero_padding(signature.pkcs7_content):
            return PdfCheck(False, "modified", signer)
    return PdfCheck(True, "", signer)


def _only_zero_padding(contents: bytes) -> bool:
    """The signature value (/Contents) is the CMS structure followed by zeros only: its
    padding is outside the signed bytes, so a change there would otherwise go unnoticed."""
    from asn1crypto import parser

    _class, _method, _tag, header, body, trailer = parser.parse(contents)
    return not contents[len(header) + len(body) + len(trailer) :].strip(b"\x00")


def _digest_differs(signature: Any) -> bool:
    """When pyHanko gives up: do the signed bytes no longer hash to the signed digest?"""
    from pyhanko.sign.general import find_unique_cms_attribute

    try:
        signed = find_unique_cms_attribute(signature.signer_info["signed_attrs"], "message_digest")
        return bool(signed.native != signature.compute_digest())
    except Exception:
        return True
