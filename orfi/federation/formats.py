"""The federation format on disk: JSON (schema-checked), CSV, and XLSX for people.

JSON and CSV carry the same rows and are both importable; the XLSX is a readable
copy with labels. Reading a file always ends in JSON documents validated against
``schema/federation-export-1.0.schema.json``: one path for every check.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from orfi.characters import refusal, visible
from orfi.errors import ValidationError
from orfi.exports.spreadsheet import BOM, DELIMITER, iter_csv, write_xlsx

SCHEMA_PATH = Path(__file__).parent / "schema" / "federation-export-1.0.schema.json"

#: CSV columns, in order: the document's context then the row's fields.
CONTEXT_COLUMNS = (
    "format_version",
    "generated_at",
    "bailleur_code",
    "bailleur_name",
    "bailleur_kind",
    "bailleur_region",
    "period_from",
    "period_to",
    "suppression_k",
)
ROW_COLUMNS = (
    "commune_insee",
    "commune_name",
    "qpv_code",
    "qpv_generation",
    "family_code",
    "category_code",
    "month",
    "count",
    "logements",
)
CSV_COLUMNS = CONTEXT_COLUMNS + ROW_COLUMNS
_INTEGER_COLUMNS = {"count", "logements"}
_MAX_ERRORS = 10


@lru_cache(maxsize=1)
def schema() -> dict:
    """Return the JSON Schema of the format."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=2)
def _validator(kind: str) -> Draft202012Validator:
    """Return a validator of one kind of document (the schema's ``oneOf`` branch).

    Checking the branch the document claims to be (it has ``documents`` or not)
    gives messages about what is wrong in it, not about the other kind.
    """
    branch = {**schema(), "oneOf": [{"$ref": f"#/$defs/{kind}"}]}
    return Draft202012Validator(
        branch, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


# ---------------------------------------------------------------------- writing


def dump_json(document: dict) -> bytes:
    """Return a document as UTF-8 JSON, one row per line (diff-friendly)."""
    text = json.dumps(document, ensure_ascii=False, indent=1)
    return (text + "\n").encode("utf-8")


def _is_sector_row(row: dict) -> bool:
    """Whether a JSON row is a sector (or the unlocated) row: it holds logements."""
    return row["month"] is None and row["family_code"] is None


def _documents(document: dict) -> list[dict]:
    return document.get("documents", [document])


def _csv_rows(document: dict) -> Iterator[list]:
    for doc in _documents(document):
        context = [
            doc["format_version"],
            doc["generated_at"],
            doc["bailleur"]["code"],
            doc["bailleur"]["name"],
            doc["bailleur"]["kind"],
            doc["bailleur"]["region"],
            doc["period"]["from"],
            doc["period"]["to"],
            doc["suppression_rule"]["k"],
        ]
        for row in doc["rows"]:
            yield context + [row[c] for c in ROW_COLUMNS]


def iter_csv_document(document: dict) -> Iterator[bytes]:
    """Yield a (bailleur or consolidated) document as CSV (``;``, UTF-8 with BOM)."""
    return iter_csv(CSV_COLUMNS, _csv_rows(document))


def write_xlsx_document(
    out: IO[bytes], document: dict, labels: dict[str, str], period_text: str
) -> None:
    """Write a readable XLSX of a document: read-me, fact counts, logements."""
    documents = _documents(document)
    consolidated = "documents" in document
    lead = ["Bailleur (code)", "Bailleur"] if consolidated else []
    readme = _xlsx_readme(document, documents, period_text)
    write_xlsx(
        out,
        [
            ("Lisez-moi", [], readme, {"widths": [120]}),
            (
                "Faits",
                lead
                + [
                    "Commune (INSEE)",
                    "Commune",
                    "QPV",
                    "Génération QPV",
                    "Mois",
                    "Famille (code)",
                    "Famille",
                    "Catégorie (code)",
                    "Catégorie",
                    "Nombre de faits",
                ],
                _xlsx_facts(documents, consolidated, labels),
                {
                    "widths": [10, 30][: len(lead)]
                    + [14, 22, 12, 10, 14, 12, 28, 14, 50, 10]
                },
            ),
            (
                "Logements",
                lead
                + ["Commune (INSEE)", "Commune", "QPV", "Génération QPV", "Logements"],
                _xlsx_logements(documents, consolidated),
                {"widths": [10, 30][: len(lead)] + [14, 22, 12, 10, 12]},
            ),
        ],
    )


def _who(doc: dict, consolidated: bool) -> list:
    """Return the bailleur columns that lead a consolidated file's rows."""
    return [doc["bailleur"]["code"], doc["bailleur"]["name"]] if consolidated else []


def _xlsx_facts(
    documents: list[dict], consolidated: bool, labels: dict[str, str]
) -> Iterator[list]:
    """Yield the rows of the « Faits » sheet (sector rows without facts left out)."""
    for doc in documents:
        for r in doc["rows"]:
            if _is_sector_row(r) and not r["count"]:
                continue
            yield _who(doc, consolidated) + [
                r["commune_insee"] or "(non localisé)",
                r["commune_name"] or "",
                r["qpv_code"] or ("hors QPV" if r["commune_insee"] else ""),
                r["qpv_generation"] or "",
                r["month"] or "(non précisé)",
                r["family_code"] or "(non précisée)",
                labels.get(r["family_code"] or "", ""),
                r["category_code"] or "(non précisée)",
                labels.get(r["category_code"] or "", ""),
                r["count"],
            ]


def _xlsx_logements(documents: list[dict], consolidated: bool) -> Iterator[list]:
    """Yield the rows of the « Logements » sheet: the sector rows."""
    for doc in documents:
        for r in doc["rows"]:
            if _is_sector_row(r):
                yield _who(doc, consolidated) + [
                    r["commune_insee"] or "(non localisé)",
                    r["commune_name"] or "",
                    r["qpv_code"] or ("hors QPV" if r["commune_insee"] else ""),
                    r["qpv_generation"] or "",
                    r["logements"],
                ]


def _xlsx_readme(document: dict, documents: list[dict], period_text: str) -> list:
    """Return the lines of the « Lisez-moi » sheet."""
    k_values = sorted({d["suppression_rule"]["k"] for d in documents})
    if "documents" in document:
        title = f"{document['federation']['name']} : statistiques consolidées"
    else:
        title = f"{document['bailleur']['name']} : statistiques pour la fédération"
    return [
        [title],
        [f"Période : {period_text}"],
        [f"Produit le : {document['generated_at']} (UTC)"],
        [f"Format : {document['format_version']} (orfi)"],
        [],
        ["Comptages agrégés : aucun texte libre, aucun nom, aucune position plus fine "
         "que la commune ou le QPV."],
        [f"Secret statistique (seuil {', '.join(map(str, k_values))}) : une case de "
         "moins de k faits n'est jamais publiée ; elle est regroupée au niveau "
         "supérieur (catégorie, puis mois, puis famille « non précisés »), ou à "
         "défaut sans localisation. Les totaux sont exacts."],
        ["Feuille « Faits » : nombre de faits par commune × QPV × mois × famille × "
         "catégorie."],
        ["Feuille « Logements » : logements du patrimoine par commune × QPV, pour les "
         "taux (faits pour 1 000 logements)."],
        ["Pour un import dans orfi, utilisez le fichier JSON ou CSV, pas celui-ci."],
    ]  # fmt: skip


# ---------------------------------------------------------------------- reading


def read_documents(raw: bytes, filename: str = "") -> list[dict]:
    """Return the bailleur documents of a JSON or CSV file, each schema-valid.

    Raises ValidationError (field ``file``) listing the first problems in French.
    """
    text = _decode(raw)
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(
                {"file": [f"JSON illisible (ligne {error.lineno}) : {error.msg}."]}
            ) from None
    elif filename.lower().endswith(".xlsx") or raw[:2] == b"PK":
        raise ValidationError(
            {
                "file": [
                    "Le fichier XLSX est une copie de lecture : importez le fichier "
                    "JSON ou CSV."
                ]
            }
        )
    else:
        document = _document_from_csv(text)
    problems = validation_problems(document) or _character_problems(document)
    if problems:
        raise ValidationError({"file": problems})
    return _documents(document)


def _character_problems(document: Any) -> list[str]:
    """Where the document's texts hold a control character (a NUL fails PostgreSQL).

    Line breaks and bidi controls pass: the file is another orfi's export, whose
    names were checked where they were typed.
    """
    problems: list[str] = []
    pending: list[tuple[str, Any]] = [("document", document)]
    while pending:
        where, node = pending.pop()
        if isinstance(node, str):
            problem = refusal(node, multiline=True, bidi=False)
            if problem:
                problems.append(f"{visible(where)} : {problem}")
        elif isinstance(node, dict):
            for key, value in node.items():
                inner = key if where == "document" else f"{where}.{key}"
                pending += [(inner, key), (inner, value)]
        elif isinstance(node, list):
            pending += [(f"{where}[{i}]", item) for i, item in enumerate(node)]
    return problems[:_MAX_ERRORS]


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(
            {"file": ["Le fichier doit être encodé en UTF-8."]}
        ) from None
    return text.removeprefix(BOM)


def validation_problems(document: Any) -> list[str]:
    """Return the French descriptions of the first schema violations of a document."""
    if not isinstance(document, dict):
        return ["document : objet JSON attendu."]
    kind = "consolidated_document" if "documents" in document else "bailleur_document"
    errors = sorted(
        _validator(kind).iter_errors(document),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    messages = []
    for error in errors:
        messages.extend(_french(leaf) for leaf in _leaves(error))
        if len(messages) >= _MAX_ERRORS:
            break
    if not messages:
        messages = _instant_problems(document)
    return list(dict.fromkeys(messages))[:_MAX_ERRORS]


def _instant_problems(document: dict) -> list[str]:
    """Check ``generated_at`` (jsonschema checks "date-time" only with extra deps)."""
    problems = []
    pairs = [("generated_at", document)]
    pairs += [
        (f"documents[{i}].generated_at", d)
        for i, d in enumerate(document.get("documents", []))
    ]
    for where, doc in pairs:
        try:
            moment = datetime.fromisoformat(doc["generated_at"])
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            problems.append(
                f"{where} : date et heure invalides (ISO 8601 avec fuseau attendu, "
                "ex. 2026-11-21T15:32:00Z)."
            )
    return problems


def _leaves(error: SchemaError) -> list[SchemaError]:
    """Return the specific errors under a oneOf (our branch, or a nullable field)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        return [leaf for e in error.context for leaf in _leaves(e)]
    return [error]


def _where(error: SchemaError) -> str:
    parts = []
    for part in error.absolute_path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "document"


def _french(error: SchemaError) -> str:
    where = _where(error)
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = [name for name in expected if name not in (error.instance or {})]
        return f"{where} : champ obligatoire manquant ({', '.join(missing)})."
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{where} : champ inconnu ({', '.join(extra)})."
    if kind == "type":
        names = {"string": "texte", "integer": "entier", "null": "null",
                 "object": "objet", "array": "liste", "number": "nombre"}  # fmt: skip
        wanted = expected if isinstance(expected, list) else [expected]
        return (
            f"{where} : type attendu {' ou '.join(names.get(t, t) for t in wanted)}, "
            f"reçu {json.dumps(error.instance, ensure_ascii=False)[:40]}."
        )
    if kind == "pattern":
        return f"{where} : format invalide ({json.dumps(error.instance)[:40]})."
    if kind in ("const", "enum"):
        allowed = [expected] if kind == "const" else expected
        return (
            f"{where} : valeur {json.dumps(error.instance, ensure_ascii=False)[:40]} "
            f"non reconnue (attendu : {', '.join(map(str, allowed))})."
        )
    if kind == "minimum":
        return f"{where} : doit valoir au moins {expected}."
    if kind == "maximum":
        return f"{where} : doit valoir au plus {expected}."
    if kind in ("minLength", "maxLength"):
        return f"{where} : longueur invalide."
    if kind == "format":
        return f"{where} : date et heure invalides (ISO 8601 attendu)."
    return f"{where} : valeur invalide ({kind})."


def _document_from_csv(text: str) -> dict:
    """Return the (bailleur or consolidated) document held by a federation CSV."""
    reader = csv.reader(io.StringIO(text), delimiter=DELIMITER)
    header = next(reader, None)
    if header is None:
        raise ValidationError({"file": ["Le fichier est vide."]})
    header = [h.strip() for h in header]
    index = _csv_index(header)
    documents: dict[tuple, dict] = {}
    problems: list[str] = []
    for line, values in enumerate(reader, 2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(
                f"ligne {line} : {len(values)} colonnes au lieu de {len(header)}."
            )
            continue
        cell = {name: values[i].strip() for name, i in index.items()}
        key = (cell["bailleur_code"], cell["period_from"], cell["period_to"])
        context = _context(cell, line, problems)
        document = documents.get(key)
        if document is None:
            document = documents[key] = {**context, "rows": []}
        elif {k: v for k, v in document.items() if k != "rows"} != context:
            problems.append(
                f"ligne {line} : en-tête du bailleur {key[0]} différent des lignes "
                "précédentes (version, date, nom, nature, région ou seuil)."
            )
        document["rows"].append(_row(cell, line, problems))
        if len(problems) >= _MAX_ERRORS:
            break
    if problems:
        raise ValidationError({"file": problems[:_MAX_ERRORS]})
    if not documents:
        raise ValidationError({"file": ["Le fichier ne contient aucune ligne."]})
    return _merged(list(documents.values()))


def _csv_index(header: list[str]) -> dict[str, int]:
    """Return the position of every column of the format; refuse a header without."""
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise ValidationError(
            {
                "file": [
                    "Ce n'est pas un fichier fédération orfi (CSV « ; ») : colonnes "
                    f"manquantes : {', '.join(missing[:6])}."
                ]
            }
        )
    return {name: header.index(name) for name in CSV_COLUMNS}


def _merged(items: list[dict]) -> dict:
    """Return the one document read, or a consolidated document holding them all."""
    if len(items) == 1:
        return items[0]
    return {
        "format_version": items[0]["format_version"],
        "generated_at": max(d["generated_at"] for d in items),
        "federation": {"code": "CSV", "name": "Fichier CSV consolidé", "region": ""},
        "period": {
            "from": min(d["period"]["from"] for d in items),
            "to": max(d["period"]["to"] for d in items),
        },
        "documents": items,
    }


def _context(cell: dict, line: int, problems: list[str]) -> dict:
    return {
        "format_version": cell["format_version"],
        "generated_at": cell["generated_at"],
        "bailleur": {
            "code": cell["bailleur_code"],
            "name": cell["bailleur_name"],
            "kind": cell["bailleur_kind"],
            "region": cell["bailleur_region"],
        },
        "period": {"from": cell["period_from"], "to": cell["period_to"]},
        "suppression_rule": {
            "method": "rollup",
            "k": _integer(cell["suppression_k"], "suppression_k", line, problems),
            "description": "",
        },
    }


def _row(cell: dict, line: int, problems: list[str]) -> dict:
    row: dict[str, Any] = {}
    for name in ROW_COLUMNS:
        value = cell[name]
        if name in _INTEGER_COLUMNS:
            row[name] = _integer(value, name, line, problems)
        else:
            row[name] = value or None
    return row


def _integer(value: str, name: str, line: int, problems: list[str]) -> Any:
    try:
        return int(value)
    except ValueError:
        problems.append(
            f"ligne {line}, {name} : entier attendu, reçu « {value[:20]} »."
        )
        return value
