"""What a known export layout is, and how its columns are found in a file
(case-, space- and underscore-insensitive) or reported missing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecomml._validation import closest_name
from ecomml.data.schema import get_schema
from ecomml.exceptions import SchemaError, short_repr


@dataclass(frozen=True)
class _SourceFormat:
    """A known export layout: for each canonical column, the source names it may carry."""

    name: str
    label: str
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    #: how the layout writes day/month dates (None: not known; the column must prove it)
    dayfirst: bool | None = None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _resolve(fmt: _SourceFormat, columns: list[str]) -> dict[str, str]:
    """Map canonical name -> source column for the aliases present (case/space-insensitive)."""
    by_norm = {_norm(c): c for c in columns}
    found: dict[str, str] = {}
    for canon, names in fmt.aliases.items():
        for n in names:
            if _norm(n) in by_norm:
                found[canon] = by_norm[_norm(n)]
                break
    return found


def _check_format_columns(fmt: _SourceFormat, columns: list[str], where: str) -> dict[str, str]:
    found = _resolve(fmt, columns)
    missing = [c for c in fmt.required if c not in found]
    if not missing:
        return found
    spare = [c for c in columns if c not in found.values()]
    hints, fixes = [], []
    canonical = set(get_schema("transactions").names)
    for m in missing:
        # a canonical target (order_id) is reached by mapping, so name only the source
        # spellings; a layout's own column (CDNOW's date) is named itself
        names = fmt.aliases[m] if m in canonical else (m, *fmt.aliases[m])
        expected = " or ".join(
            dict.fromkeys(f"'{a}'" for a in names if a != m or m not in canonical)
        )
        near = None
        for alias in fmt.aliases[m]:
            near = closest_name(alias, spare)
            if near:
                break
        hints.append(f"{expected}" + (f" (did you mean '{near}'?)" if near else ""))
        fixes.append(f"{near or '<your column>'}={m}")
    if all(m in canonical for m in missing):
        how = (
            f"Rename the column, or map it: --map {','.join(fixes)} "
            f"(mapping={{'{fixes[0].split('=')[0]}': '{missing[0]}'}} in Python)."
        )
    else:  # a source layout's own columns (e.g. CDNOW's date): only a rename fixes it
        renames = ", ".join(f"'{f.split('=')[0]}' to '{f.split('=')[1]}'" for f in fixes)
        how = f"Rename {renames} in the file, or read it with --format canonical and a --map."
    raise SchemaError(
        f"{where} looks like {fmt.label} but has no column {'; '.join(hints)}; found "
        f"columns {short_repr(columns)}. {how}",
        missing=missing,
        columns=columns,
    )
