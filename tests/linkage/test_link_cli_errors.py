"""`guanlian link` on input the user can fix (a mapped column the file lacks, an empty file,
a wrong encoding) says what is wrong in one line, naming the file and the key, exit code 2,
and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

MAPPING = """\
version: 1
sources:
  reg:
    path: reg.csv
    format: csv
    encoding: {encoding}
    key: 编号
    mentions:
      firm:
        kind: enterprise
        required: [name]
        properties:
          name: {{column: {name}}}
"""


@pytest.mark.parametrize("text,encoding,name,expected", [
    ("编号,企业名称\nR1,上海华信进出口贸易有限公司\n", "utf-8", "企业名",
     "sources.reg.mentions.firm.properties.name: column '企业名' is not in"),
    ("编号,企业名称\nR1,上海华信进出口贸易有限公司\n", "utf-8", "企业名",
     "(did you mean '企业名称'?)"),
    ("", "utf-8", "企业名称", "reg.csv: empty file: no header row"),
    ("编号,企业名称\nR1,上海华信进出口贸易有限公司\n", "gbk", "企业名称",
     "declared encoding 'gbk' does not fit"),
    ("编号\t企业名称\nR1\t上海华信进出口贸易有限公司\n", "utf-8", "企业名称",
     "the columns seem to be separated by '\\t': set delimiter: \"\\t\""),
])
def test_a_mistake_in_the_input_is_one_line_not_a_traceback(
        tmp_path: Path, text: str, encoding: str, name: str, expected: str) -> None:
    (tmp_path / "reg.csv").write_text(text, encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(MAPPING.format(encoding=encoding, name=name), encoding="utf-8")
    done = CliRunner().invoke(app, ["link", "--sources", str(sources),
                                    "--out", str(tmp_path / "run")])
    assert done.exit_code == 2, done.output
    assert done.stderr.startswith("error: ") and expected in done.stderr
    assert "Traceback" not in done.output and len(done.stderr.strip().splitlines()) <= 3
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("rows,expected", [
    ("", "warning: source 'reg' has no data rows"),
    ("R1\n", "warning: every row of source 'reg' is in quarantine (1 rows"),
])
def test_a_source_that_gave_nothing_is_a_warning(tmp_path: Path, rows: str,
                                                 expected: str) -> None:
    (tmp_path / "reg.csv").write_text("编号,企业名称\n" + rows, encoding="utf-8")
    sources = tmp_path / "sources.yaml"
    sources.write_text(MAPPING.format(encoding="utf-8", name="企业名称"), encoding="utf-8")
    done = CliRunner().invoke(app, ["link", "--sources", str(sources),
                                    "--out", str(tmp_path / "run")])
    assert done.exit_code == 0, done.output
    assert expected in done.stderr
