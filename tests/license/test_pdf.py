"""License PDFs: rendered text and layout pieces, the signing certificate, signing, and what
check() says about intact, changed, untrusted, unsigned and unreadable files. No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pypdf import PdfReader

from onewindow.kit.license_id import license_identifier
from onewindow.license import pdf

USCC = "91110000600037341L"
IDENTIFIER = license_identifier(USCC + "001", "11100000000013127D", "000000000123")
SIGNER_CN = "示范市市场监督管理局 电子证照签章"

PRINTOUT = pdf.Printout(
    title="食品经营许可证",
    identifier=IDENTIFIER,
    holder_name="示范市好味道餐饮管理有限公司",
    holder_code=USCC,
    holder_code_label="统一社会信用代码",
    fields=(
        ("法定代表人", "张三"),
        ("住所", "示范市示范区人民路100号"),
        ("经营项目", "预包装食品（含冷藏冷冻食品）销售；热食类食品制售；糕点类食品制售"),
    ),
    issuer_name="示范市市场监督管理局",
    issued_on=dt.date(2026, 11, 21),
    valid_from=dt.date(2026, 11, 21),
    valid_until=dt.date(2031, 11, 20),
    verify_url=f"https://zwfw.example.gov.cn/licenses/verify/{IDENTIFIER}",
)


def _text(document: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(document)).pages)


@pytest.fixture(scope="module")
def rendered() -> bytes:
    return pdf.render(PRINTOUT)


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return pdf.new_signing_certificate(
        common_name=SIGNER_CN, organisation="示范市市场监督管理局", uscc=USCC
    )


@pytest.fixture(scope="module")
def signed(rendered, keys) -> bytes:
    key_pem, cert_pem = keys
    return pdf.sign(
        rendered,
        key_pem=key_pem,
        cert_pem=cert_pem,
        reason="示范市市场监督管理局签发食品经营许可证",
        location="示范市市场监督管理局",
    )


def _byte_range(document: bytes) -> tuple[int, int, int, int]:
    match = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", document)
    assert match is not None
    start, length, second, second_length = (int(n) for n in match.groups())
    return start, length, second, second_length


def _flip(document: bytes, position: int) -> bytes:
    changed = bytearray(document)
    changed[position] ^= 0x01
    return bytes(changed)


# --- render ---------------------------------------------------------------------------------


def test_rendered_text_can_be_extracted(rendered):
    text = _text(rendered)
    for expected in (
        "食品经营许可证",
        "示范市好味道餐饮管理有限公司",
        "统一社会信用代码",
        USCC,
        "示范市示范区人民路100号",
        "示范市市场监督管理局",
        IDENTIFIER,
        "证照标识",
        "2026年11月21日 至 2031年11月20日",
        "扫码验证",
    ):
        assert expected in text, expected


def test_one_a4_page_with_metadata_and_a_qr_image(rendered):
    reader = PdfReader(BytesIO(rendered))
    assert len(reader.pages) == 1
    page = reader.pages[0]
    assert [round(float(v)) for v in page.mediabox] == [0, 0, 595, 842]
    assert reader.metadata is not None
    assert reader.metadata.title == "食品经营许可证"
    assert reader.metadata.author == "示范市市场监督管理局"
    xobjects = page["/Resources"]["/XObject"]
    images = [x.get_object() for x in xobjects.values()]
    assert any(image["/Subtype"] == "/Image" for image in images)


def test_fonts_are_embedded_subsets_with_tounicode(rendered):
    page = PdfReader(BytesIO(rendered)).pages[0]
    fonts = [font.get_object() for font in page["/Resources"]["/Font"].values()]
    assert len(fonts) == 2  # regular and bold
    for font in fonts:
        assert font["/Subtype"] == "/Type0"
        assert "/ToUnicode" in font
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert "/FontFile2" in descriptor.get_object()
    assert len(rendered) < 100_000  # a subset, not the 20 MB collection


def test_render_is_deterministic(rendered):
    assert pdf.render(PRINTOUT) == rendered


def test_open_ended_validity_prints_changqi():
    text = _text(pdf.render(dataclasses.replace(PRINTOUT, valid_until=None)))
    assert "2026年11月21日 至 长期" in text


def test_characters_outside_gb2312_and_a_masked_id_number():
    person = dataclasses.replace(
        PRINTOUT,
        title="中华人民共和国残疾人证",
        holder_name="王堃喆",
        holder_code="110105********002X",
        holder_code_label="公民身份号码",
        fields=(("残疾类别", "肢体"),),
    )
    text = _text(pdf.render(person))
    for expected in ("王堃喆", "110105********002X", "公民身份号码", "中华人民共和国残疾人证"):
        assert expected in text


def test_many_fields_still_render_every_value():
    fields = tuple((f"项目{n}", f"内容{n}：" + "经营范围说明" * 6) for n in range(1, 31))
    document = pdf.render(dataclasses.replace(PRINTOUT, fields=fields))
    text = _text(document)
    assert "项目30" in text
    assert "示范市市场监督管理局" in text


def test_missing_font_raises_a_clear_error(tmp_path):
    missing = str(tmp_path / "NoSuchFont-Regular.ttc")
    with pytest.raises(pdf.LicenseFontMissing) as caught:
        pdf.render(PRINTOUT, font_path=missing)
    assert "apt-get install fonts-noto-cjk" in str(caught.value)
    assert missing in str(caught.value)


def test_font_setting_is_used(settings, tmp_path):
    settings.LICENSE_FONT = str(tmp_path / "absent.otf")
    with pytest.raises(pdf.LicenseFontMissing):
        pdf.render(PRINTOUT)


def test_collection_face_is_simplified_chinese():
    from pathlib import Path

    source = Path(pdf.DEFAULT_FONT)
    assert pdf._face_index(source) == 2  # Noto Sans CJK SC in the Debian collection


# --- signing certificate --------------------------------------------------------------------


def test_signing_certificate(keys):
    key_pem, cert_pem = keys
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject == cert.issuer
    assert cert.public_key() == key.public_key()

    def attribute(oid: x509.ObjectIdentifier) -> str:
        return str(cert.subject.get_attributes_for_oid(oid)[0].value)

    assert attribute(NameOID.COMMON_NAME) == SIGNER_CN
    assert attribute(NameOID.ORGANIZATION_NAME) == "示范市市场监督管理局"
    assert attribute(NameOID.SERIAL_NUMBER) == USCC
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment  # nonRepudiation
    assert not usage.value.key_cert_sign
    years = (cert.not_valid_after_utc - cert.not_valid_before_utc).days / 365
    assert 9.9 < years < 10.1


def test_signing_certificate_without_uscc_and_with_a_bad_one():
    _key, cert_pem = pdf.new_signing_certificate(common_name="平台", organisation="平台", uscc="")
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert not cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    with pytest.raises(ValueError, match="unified social credit code"):
        pdf.new_signing_certificate(common_name="x", organisation="x", uscc=USCC[:-1] + "M")


# --- sign and check -------------------------------------------------------------------------


def test_signed_pdf_checks_ok(signed, keys, rendered):
    check = pdf.check(signed, trust_cert_pems=[keys[1]])
    assert check == pdf.PdfCheck(ok=True, reason="", signer=SIGNER_CN)
    assert signed.startswith(rendered)  # an incremental update
    assert "食品经营许可证" in _text(signed)


def test_one_byte_changed_in_the_page_content_is_modified(signed, keys):
    contents = re.search(rb"/Contents (\d+) 0 R", signed)
    assert contents is not None
    obj = signed.index(b"\n" + contents.group(1) + b" 0 obj")
    position = signed.index(b"stream", obj) + len(b"stream\n") + 20
    start, length, _second, _ = _byte_range(signed)
    assert start <= position < start + length  # inside the signed bytes
    check = pdf.check(_flip(signed, position), trust_cert_pems=[keys[1]])
    assert check == pdf.PdfCheck(ok=False, reason="modified", signer=SIGNER_CN)


def test_one_byte_changed_anywhere_in_the_signed_range_is_modified(signed, keys):
    start, length, second, second_length = _byte_range(signed)
    positions = [*range(start, start + length, 211), *range(second, second + second_length, 29)]
    positions += [start, start + length - 1, second, second + second_length - 1]
    for position in positions:
        check = pdf.check(_flip(signed, position), trust_cert_pems=[keys[1]])
        assert (check.ok, check.reason) == (False, "modified"), position


def test_a_changed_signature_value_is_not_ok(signed, keys):
    """/Contents (the hex CMS blob and its zero padding) is outside the signed bytes."""
    _start, length, second, _ = _byte_range(signed)
    for position in (length + 1, length + 40, (length + second) // 2, second - 3):
        check = pdf.check(_flip(signed, position), trust_cert_pems=[keys[1]])
        assert not check.ok, position
        assert check.reason in {"invalid", "modified"}, position


def test_an_update_after_signing_is_modified(signed, keys):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(BytesIO(signed))
    writer.root["/OneWindowAfterthought"] = generic.NameObject("/Yes")
    writer.update_root()
    out = BytesIO()
    writer.write(out)
    check = pdf.check(out.getvalue(), trust_cert_pems=[keys[1]])
    assert (check.ok, check.reason) == (False, "modified")


def test_untrusted_signer(signed):
    _key, other_cert = pdf.new_signing_certificate(
        common_name="别的机关", organisation="别的机关", uscc=""
    )
    check = pdf.check(signed, trust_cert_pems=[other_cert])
    assert check == pdf.PdfCheck(ok=False, reason="untrusted", signer=SIGNER_CN)
    assert pdf.check(signed, trust_cert_pems=[]).reason == "untrusted"


def test_trusted_among_several_roots(signed, keys):
    _key, other_cert = pdf.new_signing_certificate(
        common_name="别的机关", organisation="别的机关", uscc=""
    )
    assert pdf.check(signed, trust_cert_pems=[other_cert, keys[1]]).ok


def test_unsigned_pdf(rendered, keys):
    assert pdf.check(rendered, trust_cert_pems=[keys[1]]) == pdf.PdfCheck(
        ok=False, reason="no_signature", signer=""
    )


@pytest.mark.parametrize(
    "garbage", [b"", b"not a pdf at all", b"%PDF-1.7\n%%EOF\n", bytes(range(256)) * 8]
)
def test_garbage_is_unreadable(garbage, keys):
    assert pdf.check(garbage, trust_cert_pems=[keys[1]]) == pdf.PdfCheck(
        ok=False, reason="unreadable", signer=""
    )


def test_truncated_signed_pdf(signed, keys):
    """Cut into the signed update: "modified"; cut back to before it, no longer a PDF."""
    check = pdf.check(signed[:-40], trust_cert_pems=[keys[1]])
    assert (check.ok, check.reason) == (False, "modified")
    assert pdf.check(signed[:1000], trust_cert_pems=[keys[1]]).reason == "unreadable"
