"""Plant known material changes into a generated data set (for the alert tests and bench).

Each planted change appends agency rows, as an agency would publish them on a later day:
- a shareholder link from a clean operating firm to a blacklisted person;
- a fresh, large penalty on another clean firm (its level rises);
- a phoenix successor: a new firm of a penalised, deregistered firm's legal representative at
  its address, established after the penalty.
`Planted` names what the alerts must be: (kind, entity key, condition key), resolved to entity
IDs by identifier once the rerun is linked.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from linkage.synth.identifiers import make_uscc


@dataclass(frozen=True)
class Planted:
    link_firm_uscc: str  # gains a blacklisted shareholder
    blacklisted_id: str  # the person's resident ID
    penalised_uscc: str  # gains a fresh penalty
    successor_uscc: str  # the new phoenix successor
    predecessor_uscc: str  # the penalised, deregistered firm it succeeds


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _append(path: Path, row: dict[str, str]) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    with path.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, header).writerow(row)


def plant(data_dir: Path, seed: int = 5) -> Planted:
    """Append the planted rows to `data_dir` (a generated DIR/data) and say what they are."""
    rng = random.Random(seed)
    reg = _rows(data_dir / "registry_enterprises.csv")
    pen = _rows(data_dir / "administrative_penalties.csv")
    blk = _rows(data_dir / "credit_blacklist.csv")
    flagged = {p["统一社会信用代码"] for p in pen} | {b["证件号码"] for b in blk}
    clean = [r for r in reg if r["登记状态"] == "存续" and r["统一社会信用代码"] not in flagged]
    person = next(b for b in blk if b["主体类型"] == "自然人")
    firm, target = clean[0], clean[len(clean) // 2]
    latest = max(p["处罚日期"] for p in pen)
    penalised = {p["统一社会信用代码"] for p in pen}
    gone = [r for r in reg
            if r["登记状态"] in ("注销", "吊销") and r["统一社会信用代码"] in penalised]
    at_address: dict[str, int] = {}
    for r in reg:
        at_address[r["住所"]] = at_address.get(r["住所"], 0) + 1
    led: dict[str, int] = {}
    for r in gone:
        led[r["法定代表人证件号码"]] = led.get(r["法定代表人证件号码"], 0) + 1
    # a predecessor whose address is its own (the successor at a hub address would be a hub
    # alert, not a path) and whose legal representative left no other penalised firm behind
    pred = next(r for r in gone
                if at_address[r["住所"]] == 1 and led[r["法定代表人证件号码"]] == 1)
    _append(data_dir / "registry_shareholders.csv", {
        "记录编号": "GD900000001", "企业名称": firm["企业名称"],
        "统一社会信用代码": firm["统一社会信用代码"], "股东名称": person["主体名称"],
        "股东类型": "自然人", "证件号码": person["证件号码"], "持股比例": "10.00",
    })
    _append(data_dir / "administrative_penalties.csv", {
        "处罚决定书文号": "沪关缉违字〔2099〕0001号", "当事人名称": target["企业名称"],
        "统一社会信用代码": target["统一社会信用代码"], "法定代表人": target["法定代表人"],
        "违法类型": "走私普通货物", "处罚内容": "罚款", "罚款金额": "900000.00",
        "处罚日期": latest, "处罚机关": "上海海关",
    })
    uscc = make_uscc(pred["统一社会信用代码"][2:8], rng)
    _append(data_dir / "registry_enterprises.csv", {
        "记录编号": "SCJG90000001", "统一社会信用代码": uscc, "注册号": "",
        "企业名称": "上海鑫晟新源国际贸易有限公司", "法定代表人": pred["法定代表人"],
        "法定代表人证件号码": pred["法定代表人证件号码"], "住所": pred["住所"],
        "联系电话": "", "成立日期": latest, "登记状态": "存续", "注销日期": "",
        "登记机关": pred["登记机关"],
    })
    return Planted(link_firm_uscc=firm["统一社会信用代码"], blacklisted_id=person["证件号码"],
                   penalised_uscc=target["统一社会信用代码"], successor_uscc=uscc,
                   predecessor_uscc=pred["统一社会信用代码"])
