"""Chinese exports (GBK/GB18030, Big5) are named as such, never as Latin-1."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecomml.data import read_table
from ecomml.data.adapters.text import _guess_encoding
from ecomml.exceptions import InputFileError

_SIMPLIFIED = ["婴儿奶粉", "纸尿裤 加大号", "儿童玩具车", "保温杯 500ml", "运动鞋 男款"]
_TRADITIONAL = ["嬰兒奶粉", "紙尿褲 加大號", "兒童玩具車", "保溫杯 500ml", "運動鞋 男款"]
_LATIN = ["Crème brûlée", "Café au lait – 1€", "Müller Joghurt", "Ñandú plush"]


def _file(path: Path, names: list[str], encoding: str) -> Path:
    rows = "".join(
        f"o{i},c{i},s{i},{d},2024-03-0{i % 9 + 1},1,9.9\n" for i, d in enumerate(names * 3)
    )
    head = "order_id,customer_id,sku,description,ts,quantity,price\n"
    path.write_bytes((head + rows).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("names", "encoding", "option", "said"),
    [
        (_SIMPLIFIED, "gbk", "gb18030", "GBK/GB18030"),
        (_SIMPLIFIED, "gb18030", "gb18030", "GBK/GB18030"),
        (_TRADITIONAL, "big5", "big5", "Big5"),
        (_LATIN, "cp1252", "cp1252", "Windows-1252"),
    ],
)
def test_the_hint_names_the_encoding_and_following_it_reads_the_text(
    tmp_path: Path, names: list[str], encoding: str, option: str, said: str
) -> None:
    f = _file(tmp_path / "tx.csv", names, encoding)
    with pytest.raises(InputFileError) as err:
        read_table(f)
    assert said in str(err.value) and f"--encoding {option}" in str(err.value)
    assert "Latin-1" not in str(err.value)
    out = read_table(f, encoding=option)
    assert out["description"].tolist()[: len(names)] == names


def test_gbk_is_accepted_by_its_own_name(tmp_path: Path) -> None:
    f = _file(tmp_path / "tx.csv", _SIMPLIFIED, "gbk")
    assert read_table(f, encoding="gbk")["description"].iloc[0] == "婴儿奶粉"


_ASCII = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6)
_ACCENT = st.sampled_from(list("éèêëàâäöüßçñÉÄÖÜ"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(_ASCII, _ACCENT, _ASCII), min_size=1, max_size=30))
def test_latin_text_with_accented_letters_is_never_called_chinese(
    words: list[tuple[str, str, str]],
) -> None:
    lines = ["name"] + [f"{a}{c}{b}" for a, c, b in words] + [""]
    name, option = _guess_encoding("\n".join(lines).encode("latin-1"))
    assert option in ("latin-1", "cp1252"), (name, lines)
