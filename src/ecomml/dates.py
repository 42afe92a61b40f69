"""Dates read as written: nothing guessed.

Year-first dates (ISO ``2024-04-01``, ``2024/04/01``, ``2024.04.01``) and Chinese
``2024年4月1日`` are unambiguous and always read. Day/month dates (``01/04/2024``) are read
day-first or month-first only when the whole column proves the order (some first field is
above 12: day-first; some second field is: month-first) or the user declared it
(:class:`DateFormat`: ``--dayfirst`` or ``--date-format``); otherwise they are refused with
one line that shows an ambiguous value and both options. A single date (``--cutoff``) is
ISO, year-first or in the declared format.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd

from ecomml.exceptions import ConfigError, DataQualityError

__all__ = ["DateFormat", "parse_date", "parse_date_column"]

#: ``2024年4月1日`` (+ an optional time) -> ``2024-4-1``
_CJK = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
#: ``01/04/2024``, ``1.4.24``, ``01-04-2024 08:26``: two one-or-two-digit fields, then the year
_DMY = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?=$|[ T])")


@dataclass(frozen=True)
class DateFormat:
    """How the shop writes dates: ``format`` (strftime, e.g. ``"%d/%m/%Y %H:%M"``) or
    ``dayfirst`` (True: ``01/04/2024`` is 1 April; False: January 4). Neither: read
    day/month dates only when the column proves their order."""

    format: str | None = None
    dayfirst: bool | None = None

    def __post_init__(self) -> None:
        if self.format is not None and self.dayfirst is not None:
            raise ConfigError(
                "give a date format or day-first, not both: the format already says the order"
            )
        if self.format is not None and "%" not in self.format:
            raise ConfigError(
                f"date format {self.format!r} has no strftime field; write it like %d/%m/%Y"
            )

    @classmethod
    def of(cls, value: DateFormat | str | None = None, dayfirst: bool | None = None) -> DateFormat:
        """A :class:`DateFormat` from a format string, an existing one, or ``dayfirst``."""
        if isinstance(value, DateFormat):
            return value
        return cls(format=value or None, dayfirst=dayfirst)

    @property
    def declared(self) -> bool:
        """True when the user said how dates are written."""
        return self.format is not None or self.dayfirst is not None


def _options_hint(example: str) -> str:
    day, month = _DMY.match(example).groups()[:2]  # type: ignore[union-attr]
    return (
        f"say which: --dayfirst (day {int(day)} of month {int(month)}) or --date-format "
        f"%m/%d/%Y (month {int(day)}, day {int(month)}); in a map file, dayfirst: true or "
        "date_format: '%m/%d/%Y'"
    )


def _to_iso(txt: pd.Series, dayfirst: bool) -> pd.Series:
    """Rewrite day/month dates as ``YYYY-MM-DD`` (two-digit years are 20YY)."""
    m = txt.str.extract(_DMY)
    year = m[2].where(m[2].str.len() == 4, "20" + m[2])
    day, month = (m[0], m[1]) if dayfirst else (m[1], m[0])
    rest = txt.str.replace(_DMY, "", regex=True)
    return year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2) + rest


def parse_date_column(
    txt: pd.Series, dates: DateFormat | None = None, *, where: str = "", col: str = ""
) -> pd.Series:
    """Parse a text column to datetimes (NaT where a value is not a date); the caller
    reports the rows left NaT. Ambiguous day/month dates raise :class:`DataQualityError`."""
    dates = dates or DateFormat()
    obj = txt.astype(object).where(txt.notna(), None)
    if dates.format is not None:
        return pd.Series(pd.to_datetime(obj, format=dates.format, errors="coerce"), index=txt.index)
    text = pd.Series(obj, index=txt.index, dtype=object).str.replace(_CJK, r"\1-\2-\3", regex=True)
    fields = text.str.extract(_DMY)
    dmy = fields[0].notna()
    if dmy.any():
        dayfirst = dates.dayfirst
        if dayfirst is None:
            first_big = fields[0][dmy].astype(int) > 12
            second_big = fields[1][dmy].astype(int) > 12
            if first_big.any() and second_big.any():
                a, b = text[dmy][first_big].iloc[0], text[dmy][second_big].iloc[0]
                raise DataQualityError(
                    f"{where}: column '{col}' writes dates both day-first ({a!r}) and "
                    f"month-first ({b!r}); export them in one format, ideally ISO (2024-04-01)."
                )
            if not (first_big.any() or second_big.any()):
                ex = str(text[dmy].iloc[0]).strip()
                raise DataQualityError(
                    f"{where}: column '{col}' has dates such as {ex!r} that read both ways "
                    f"(no day above 12 anywhere in the column); {_options_hint(ex)}."
                )
            dayfirst = bool(first_big.any())
        text = text.where(~dmy, _to_iso(text.where(dmy), dayfirst))
    best = pd.to_datetime(text, format="ISO8601", errors="coerce")
    rest = text.notna() & best.isna() & ~dmy
    if rest.any():  # month names and other forms that say their order ("Dec 1 2010")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            alt = pd.to_datetime(text[rest], errors="coerce")
        best = best.where(~rest, alt.reindex(text.index))
    return pd.Series(best, index=txt.index)


def parse_date(
    value: str,
    dates: DateFormat | None = None,
    *,
    name: str,
    error: type[Exception] = ConfigError,
) -> pd.Timestamp:
    """One date given as text (``--cutoff``): ISO, year-first, ``年月日`` or the declared
    format; a day/month date is read only with ``--dayfirst`` or ``--date-format``.
    Raises ``error`` naming ``name`` otherwise."""
    dates = dates or DateFormat()
    text = _CJK.sub(r"\1-\2-\3", str(value).strip())
    if dates.format is None and _DMY.match(text) and dates.dayfirst is None:
        raise error(
            f"{name} {value!r} reads both ways (day/month or month/day): write it as ISO, "
            f"e.g. {_to_iso(pd.Series([text]), True).iloc[0][:10]} for day-first, or "
            "pass --dayfirst or --date-format"
        )
    parsed = parse_date_column(pd.Series([text], dtype=object), dates, where=name, col=name)
    ts = parsed.iloc[0]
    if pd.isna(ts):
        fmt = f" in the format {dates.format!r}" if dates.format else ""
        raise error(f"{name} {value!r} is not a date{fmt}; use ISO format, e.g. 2011-09-01.")
    return pd.Timestamp(ts)
