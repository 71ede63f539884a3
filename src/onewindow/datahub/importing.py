"""Bulk import of a department's file into a dataset or registry, with a per-row report.

``dataset_import(dataset_key=..., file_name=..., content=..., actor=...)`` reads a CSV (UTF-8,
with or without BOM) or an Excel workbook (.xlsx, first sheet), row 1 being the header of
column names. **Every row is checked first** (required and unknown columns, check digits of ID
numbers and USCCs, dates, codes, numbers, duplicates inside the file and against the registry);
then the valid rows are written through the services' loaders, one transaction per chunk of
rows, all pointing at one ``ImportBatch`` (the lineage). A bad row is only reported: it never
blocks or alters another. A problem with the file itself (unreadable, a required column
missing, an unknown column) rejects the whole file and writes nothing.

Row numbers are the spreadsheet's: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from onewindow.audit.services import audit_record
from onewindow.datahub import services
from onewindow.datahub.keys import ID_NUMBER_PURPOSE
from onewindow.datahub.models import (
    SOURCE_FIELDS,
    Dataset,
    DataType,
    EntityStatus,
    EntityType,
    ImportOrigin,
    LegalEntity,
    LifeStatus,
    Person,
    Sex,
    Source,
    SubjectType,
)
from onewindow.datahub.services import LegalEntityRow, PersonRow
from onewindow.identity import crypto
from onewindow.kit import validators
from onewindow.kit.crypto import sm3_hex
from onewindow.org.models import Region
from onewindow.org.selectors import platform_province_prefixes

HEADER_ROW = 1
CHUNK_SIZE = 500  # valid rows written per transaction
MAX_TEXT = {"name": 64, "household_address": 200, "registered_address": 200}
ENTITY_NAME_MAX = 200

Progress = Callable[[Iterable[Any], str], Iterable[Any]]


def no_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    return items


def terminal_progress(items: Iterable[Any], label: str) -> Iterable[Any]:
    """A progress bar on stderr (tqdm) on a terminal, or for a large file in a log."""
    from tqdm import tqdm

    sequence = list(items)
    interactive = sys.stderr.isatty()
    return tqdm(
        sequence,
        desc=label,
        unit="row",
        file=sys.stderr,
        disable=len(sequence) < 200 and not interactive,
        mininterval=0.2 if interactive else 10.0,
    )


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong in the file: spreadsheet row number (1 = header), column, code, text."""

    row: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        return _("row %(row)d, column %(column)s: %(message)s [%(code)s]") % {
            "row": self.row,
            "column": self.column or "-",
            "message": self.message,
            "code": self.code,
        }

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ImportReport:
    dataset_key: str
    file_name: str
    file_sm3: str
    dry_run: bool
    rows_total: int = 0
    rows_ok: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    batch_id: int | None = None

    @property
    def file_rejected(self) -> bool:
        """The file itself is wrong: nothing was (or would be) imported."""
        return any(p.row <= HEADER_ROW for p in self.problems)

    @property
    def rejected_rows(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row > HEADER_ROW})

    @property
    def rows_rejected(self) -> int:
        return self.rows_total if self.file_rejected else len(self.rejected_rows)


class ImportFileError(Exception):
    """The file cannot be read as a table at all."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# --- reading the file -------------------------------------------------------------------------


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time.min else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")  # the BOM Excel writes is dropped
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            RowProblem(0, "", "encoding", _("The file is not UTF-8 text (save the CSV as UTF-8)."))
        ) from exc
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as exc:
        raise ImportFileError(
            RowProblem(0, "", "csv_syntax", _("The CSV is malformed: %(error)s") % {"error": exc})
        ) from exc


def _read_xlsx(content: bytes) -> list[list[str]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(
            RowProblem(
                0, "", "unreadable", _("The file cannot be read as an Excel workbook (.xlsx).")
            )
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        return [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_table(file_name: str, content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the data rows ``(row number, cells)``; blank rows are skipped."""
    lower = file_name.lower()
    if lower.endswith(".csv"):
        rows = _read_csv(content)
    elif lower.endswith(".xlsx"):
        rows = _read_xlsx(content)
    else:
        raise ImportFileError(
            RowProblem(0, "", "file_type", _("Only .csv and .xlsx files can be imported."))
        )
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows or not any(rows[0]):
        raise ImportFileError(
            RowProblem(HEADER_ROW, "", "no_header", _("The first row must name the columns."))
        )
    header = list(rows[0])
    while header and not header[-1]:
        header.pop()
    data = [
        (number, cells) for number, cells in enumerate(rows[1:], start=HEADER_ROW + 1) if any(cells)
    ]
    return header, data


# --- checking the rows ------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    values: dict[str, str]
    problems: list[RowProblem] = field(default_factory=list)

    def fail(self, column: str, code: str, message: str) -> None:
        self.problems.append(RowProblem(self.number, column, code, message))

    def text(self, column: str, *, required: bool = True, max_length: int = 0) -> str:
        value = self.values.get(column, "")
        if not value and required:
            self.fail(column, "required", _("This field is required."))
        elif max_length and len(value) > max_length:
            self.fail(column, "too_long", _("At most %(max)d characters.") % {"max": max_length})
        return value

    def date(self, column: str, *, required: bool = True) -> dt.date | None:
        value = self.text(column, required=required)
        if not value:
            return None
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            self.fail(column, "invalid_date", _("Enter a date as YYYY-MM-DD."))
            return None
        if parsed > timezone.localdate():
            self.fail(column, "future_date", _("The date cannot be in the future."))
            return None
        return parsed

    def choice(self, column: str, choices: Sequence[str], default: str = "") -> str:
        value = self.text(column, required=not default) or default
        if value and value not in choices:
            self.fail(
                column,
                "invalid_choice",
                _("Not one of the allowed values: %(choices)s.") % {"choices": ", ".join(choices)},
            )
        return value

    def id_number(self, column: str, extra: Iterable[str]) -> str:
        value = validators.normalize_id_number(self.text(column))
        if value:
            result = validators.validate_id_number(value, extra_provinces=extra)
            if not result.valid:
                self.fail(column, result.rule or "invalid", str(result.reason))
                return ""
        return value

    def uscc(self, column: str, extra: Iterable[str]) -> str:
        value = validators.normalize_uscc(self.text(column))
        if value:
            result = validators.validate_uscc(value, extra_provinces=extra)
            if not result.valid:
                self.fail(column, result.rule or "invalid", str(result.reason))
                return ""
        return value

    def region(self, column: str, regions: set[str]) -> str:
        value = self.text(column)
        if value and value not in regions:
            self.fail(column, "unknown_region", _("No such region (area code) on the platform."))
        return value


class _Seen:
    """Duplicates inside the file: the first row a key was seen in."""

    def __init__(self, column: str) -> None:
        self.column, self.first = column, dict[str, int]()

    def check(self, row: _Row, key: str) -> None:
        if not key:
            return
        if key in self.first:
            row.fail(
                self.column,
                "duplicate_in_file",
                _("The same %(column)s as row %(row)d of this file.")
                % {"column": self.column, "row": self.first[key]},
            )
        else:
            self.first[key] = row.number


def _columns(dataset: Dataset) -> tuple[list[str], list[str]]:
    """Required and optional columns of a dataset's import file."""
    if dataset.source == Source.POPULATION:
        optional = ["status", "death_date"]
        return [c for c in SOURCE_FIELDS[Source.POPULATION] if c not in optional], optional
    if dataset.source == Source.LEGAL_ENTITY:
        optional = ["legal_representative", "status"]
        return [c for c in SOURCE_FIELDS[Source.LEGAL_ENTITY] if c not in optional], optional
    subject = "uscc" if dataset.subject_type == SubjectType.ENTERPRISE else "id_number"
    return [subject, *dataset.fields.values_list("name", flat=True)], ["as_of"]


def _header_problems(dataset: Dataset, header: list[str]) -> list[RowProblem]:
    required, optional = _columns(dataset)
    problems = []
    seen: set[str] = set()
    for name in header:
        if not name:
            problems.append(
                RowProblem(HEADER_ROW, "", "unnamed_column", _("Every column needs a name."))
            )
        elif name in seen:
            problems.append(
                RowProblem(HEADER_ROW, name, "duplicate_column", _("This column appears twice."))
            )
        elif name not in required and name not in optional:
            problems.append(
                RowProblem(
                    HEADER_ROW,
                    name,
                    "unknown_column",
                    _("The dataset %(dataset)s has no column of this name.")
                    % {"dataset": dataset.key},
                )
            )
        seen.add(name)
    for name in required:
        if name not in seen:
            problems.append(
                RowProblem(HEADER_ROW, name, "missing_column", _("This column is required."))
            )
    return problems


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _existing(model: type[Model], column: str, keys: Iterable[str]) -> dict[str, Any]:
    """``{key: row}`` of the registry rows among ``keys`` (looked up in chunks)."""
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(keys)), 1000):
        for row in model._default_manager.filter(**{f"{column}__in": chunk}):
            found[getattr(row, column)] = row
    return found


def _check_persons(rows: list[_Row], progress: Progress) -> list[tuple[_Row, PersonRow]]:
    extra = platform_province_prefixes()
    regions = set(Region.objects.values_list("code", flat=True))
    ring = crypto.keyring()
    seen = _Seen("id_number")
    checked: list[tuple[_Row, PersonRow, str]] = []
    for row in progress(rows, _("Checking rows")):
        id_number = row.id_number("id_number", extra)
        name = row.text("name", max_length=MAX_TEXT["name"])
        sex = row.choice("sex", Sex.values)
        birth_date = row.date("birth_date")
        region = row.region("household_region", regions)
        address = row.text("household_address", max_length=MAX_TEXT["household_address"])
        status = row.choice("status", LifeStatus.values, default=LifeStatus.ALIVE)
        death_date = row.date("death_date", required=False)
        if (
            id_number
            and sex in Sex.values
            and (sex == Sex.MALE) != (validators.id_number_is_male(id_number))
        ):
            row.fail("sex", "sex_mismatch", _("The sex does not match the ID number."))
        if id_number and birth_date and birth_date != validators.id_number_birth_date(id_number):
            row.fail(
                "birth_date",
                "birth_date_mismatch",
                _("The date of birth does not match the ID number."),
            )
        if status == LifeStatus.DECEASED and not death_date and not row.values.get("death_date"):
            row.fail("death_date", "required", _("A deceased person needs a date of death."))
        if status == LifeStatus.ALIVE and death_date:
            row.fail("death_date", "not_deceased", _("Only a deceased person has a date of death."))
        if death_date and birth_date and death_date < birth_date:
            row.fail(
                "death_date",
                "before_birth",
                _("The date of death is before the date of birth."),
            )
        seen.check(row, id_number)
        if row.problems or birth_date is None:
            continue
        person = PersonRow(
            id_number=id_number,
            name=name,
            sex=sex,
            birth_date=birth_date,
            region_code=region,
            address=address,
            status=status,
            death_date=death_date,
        )
        checked.append((row, person, ring.lookup_hash(id_number, purpose=ID_NUMBER_PURPOSE)))
    registered = _existing(Person, "id_number_hash", (h for _r, _p, h in checked))
    accepted = []
    for row, person, key in checked:
        if key in registered:
            row.fail(
                "id_number",
                "already_registered",
                _("Already in the registry; an import only adds new entries."),
            )
        else:
            accepted.append((row, person))
    return accepted


def _check_entities(rows: list[_Row], progress: Progress) -> list[tuple[_Row, LegalEntityRow]]:
    extra = platform_province_prefixes()
    regions = set(Region.objects.values_list("code", flat=True))
    ring = crypto.keyring()
    seen = _Seen("uscc")
    checked: list[tuple[_Row, LegalEntityRow, str]] = []
    for row in progress(rows, _("Checking rows")):
        uscc = row.uscc("uscc", extra)
        name = row.text("name", max_length=ENTITY_NAME_MAX)
        kind = row.choice("entity_type", EntityType.values)
        representative = row.id_number("legal_representative_id_number", extra)
        region = row.region("registered_region", regions)
        address = row.text("registered_address", max_length=MAX_TEXT["registered_address"])
        status = row.choice("status", EntityStatus.values, default=EntityStatus.ACTIVE)
        established_on = row.date("established_on")
        seen.check(row, uscc)
        if row.problems or established_on is None:
            continue
        entity = LegalEntityRow(
            uscc=uscc,
            name=name,
            entity_type=kind,
            representative_id_number=representative,
            region_code=region,
            address=address,
            established_on=established_on,
            status=status,
        )
        checked.append((row, entity, ring.lookup_hash(representative, purpose=ID_NUMBER_PURPOSE)))
    registered = _existing(LegalEntity, "uscc", (e.uscc for _r, e, _h in checked))
    persons = _existing(Person, "id_number_hash", (h for _r, _e, h in checked))
    accepted = []
    for row, entity, rep_hash in checked:
        person = persons.get(rep_hash)
        if entity.uscc in registered:
            row.fail(
                "uscc",
                "already_registered",
                _("Already in the registry; an import only adds new entries."),
            )
        if person is None:
            row.fail(
                "legal_representative_id_number",
                "representative_unknown",
                _("The legal representative is not in the population registry."),
            )
        elif row.values.get("legal_representative") and (
            row.values["legal_representative"] != person.name
        ):
            row.fail(
                "legal_representative",
                "representative_mismatch",
                _("The name does not match the population registry."),
            )
        if not row.problems:
            accepted.append((row, entity))
    return accepted


def _typed(row: _Row, column: str, data_type: str) -> Any:
    value = row.values.get(column, "")
    if value == "":
        return None
    if data_type == DataType.BOOLEAN:
        truth = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}
        if value.lower() not in truth:
            row.fail(column, "invalid_boolean", _("Enter true or false (是 / 否)."))
        return truth.get(value.lower())
    if data_type == DataType.INTEGER:
        try:
            return int(value)
        except ValueError:
            row.fail(column, "invalid_integer", _("Enter a whole number."))
            return None
    if data_type == DataType.DECIMAL:
        try:
            amount = Decimal(value)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            row.fail(column, "invalid_decimal", _("Enter an amount such as 1234.50."))
            return None
        return str(amount.quantize(Decimal("0.01")))
    if data_type == DataType.DATE:
        parsed = row.date(column, required=False)
        return parsed.isoformat() if parsed else None
    return value


def _check_records(
    dataset: Dataset, rows: list[_Row], progress: Progress
) -> list[tuple[_Row, str, dict[str, Any], dt.date]]:
    extra = platform_province_prefixes()
    ring = crypto.keyring()
    person = dataset.subject_type == SubjectType.PERSON
    subject_column = "id_number" if person else "uscc"
    types = dict(dataset.fields.values_list("name", "element__data_type"))
    seen = _Seen(subject_column)
    today = timezone.localdate()
    checked: list[tuple[_Row, str, dict[str, Any], dt.date, str]] = []
    for row in progress(rows, _("Checking rows")):
        key = row.id_number(subject_column, extra) if person else row.uscc(subject_column, extra)
        as_of = row.date("as_of", required=False) or today
        values = {name: _typed(row, name, data_type) for name, data_type in types.items()}
        seen.check(row, key)
        if row.problems:
            continue
        stored = ring.lookup_hash(key, purpose=ID_NUMBER_PURPOSE) if person else key
        checked.append((row, key, values, as_of, stored))
    if person:
        known = set(_existing(Person, "id_number_hash", (c[4] for c in checked)))
        unknown = _("No such person in the population registry.")
    else:
        known = set(_existing(LegalEntity, "uscc", (c[4] for c in checked)))
        unknown = _("No such enterprise in the legal entity registry.")
    accepted = []
    for row, key, values, as_of, stored in checked:
        if stored in known:
            accepted.append((row, key, values, as_of))
        else:
            row.fail(subject_column, "subject_unknown", unknown)
    return accepted


# --- the import -------------------------------------------------------------------------------


def dataset_import(
    *,
    dataset_key: str,
    file_name: str,
    content: bytes,
    actor: str,
    dry_run: bool = False,
    progress: Progress = no_progress,
    chunk_size: int = CHUNK_SIZE,
) -> ImportReport:
    """Check every row of the file, then (unless ``dry_run``) write the valid ones in one
    ``ImportBatch``. Raises ``Dataset.DoesNotExist`` for an unknown or inactive dataset."""
    dataset = Dataset.objects.get(key=dataset_key, is_active=True)
    report = ImportReport(
        dataset_key=dataset.key, file_name=file_name, file_sm3=sm3_hex(content), dry_run=dry_run
    )
    try:
        header, data = read_table(file_name, content)
    except ImportFileError as exc:
        report.problems.append(exc.problem)
        return report
    report.rows_total = len(data)
    report.problems.extend(_header_problems(dataset, header))
    if report.problems:
        return report
    rows = []
    for number, cells in data:
        row = _Row(
            number, {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
        )
        if any(cells[len(header) :]):
            row.fail("", "extra_cells", _("The row has more cells than the header."))
        rows.append(row)
    if dataset.source == Source.POPULATION:
        accepted: list[tuple[_Row, Any]] = list(_check_persons(rows, progress))
    elif dataset.source == Source.LEGAL_ENTITY:
        accepted = list(_check_entities(rows, progress))
    else:
        accepted = [(r, (k, v, a)) for r, k, v, a in _check_records(dataset, rows, progress)]
    for row in rows:
        report.problems.extend(row.problems)
    report.rows_ok = len(accepted)
    if dry_run or not accepted:
        return report
    batch = services.import_batch_start(
        dataset=dataset,
        origin=ImportOrigin.FILE,
        actor=actor,
        file_name=file_name,
        file_sm3=report.file_sm3,
    )
    report.batch_id = batch.pk
    written = 0
    try:
        for chunk in progress(_chunks([item for _r, item in accepted], chunk_size), _("Writing")):
            _write(dataset, chunk, batch)
            written += len(chunk)
    except Exception:
        # The chunks already written stay (each was its own transaction) and say so.
        services.import_batch_finish(
            batch=batch,
            rows_total=report.rows_total,
            rows_ok=written,
            rows_rejected=report.rows_rejected,
            failed=True,
        )
        raise
    services.import_batch_finish(
        batch=batch,
        rows_total=report.rows_total,
        rows_ok=report.rows_ok,
        rows_rejected=report.rows_rejected,
    )
    audit_record(
        actor=actor,
        action="datahub.import",
        object_type="datahub.importbatch",
        object_id=batch.pk,
        object_repr=str(batch),
        detail={
            "dataset": dataset.key,
            "file_sm3": report.file_sm3,
            "rows_ok": report.rows_ok,
            "rows_rejected": report.rows_rejected,
        },
    )
    return report


def _write(dataset: Dataset, chunk: Sequence[Any], batch: Any) -> None:
    """One transaction for one chunk of checked rows."""
    with transaction.atomic():
        _write_rows(dataset, chunk, batch)


def _write_rows(dataset: Dataset, chunk: Sequence[Any], batch: Any) -> None:
    if dataset.source == Source.POPULATION:
        services.persons_load(rows=chunk, batch=batch)
    elif dataset.source == Source.LEGAL_ENTITY:
        services.legal_entities_load(rows=chunk, batch=batch)
    else:
        by_date: dict[dt.date, list[tuple[str, dict[str, Any]]]] = {}
        for key, values, as_of in chunk:
            by_date.setdefault(as_of, []).append((key, values))
        for as_of, records in sorted(by_date.items()):
            services.dataset_records_load(
                dataset=dataset, records=records, as_of=as_of, batch=batch
            )
