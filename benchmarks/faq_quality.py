"""FAQ matching quality: top-1 accuracy in scope, correct refusals out of scope.

    python benchmarks/faq_quality.py [--split holdout|tune|all] [--origin O] [--by FIELD]
                                     [--errors] [--file PATH]

Prints JSON. Thresholds, aliases and rules are tuned on the ``tune`` split only; the
``holdout`` questions were written and committed before the changes they measure, and are
evaluated once before being moved to ``tune`` (see bot/services/faq/README.md for the
generations and their figures). ``--file`` evaluates a labelled set kept outside the
repository (a blind holdout: every row counts, whatever its split). faq_dev.jsonl (the
shared examples) must score 100%, including its ``accepted`` flags.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.services.faq.batch import match_record  # noqa: E402
from bot.services.faq.catalogue import load_shipped_catalogue  # noqa: E402
from bot.services.faq.matcher import Matcher  # noqa: E402
from bot.services.faq.policy import VIETNAM_TZ, Policy, load_shipped_policy  # noqa: E402

LABELLED = ROOT / "benchmarks" / "data" / "faq_labelled.jsonl"
DEV_CANDIDATES = (
    ROOT.parent / "shared" / "data" / "faq_dev.jsonl",
    ROOT / "shared" / "data" / "faq_dev.jsonl",
)
# Inside the shipped rule's period, so "accepted" reflects the April 2020 rule.
AT = datetime(2020, 4, 6, 9, 0, tzinfo=VIETNAM_TZ)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def expected_ids(row: dict[str, Any]) -> list[str]:
    # faq_dev writes out-of-scope as ["none"], our set as [].
    return [e for e in row.get("expect", []) if e != "none"]


def evaluate(
    matcher: Matcher, policy: Policy, rows: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    in_total = in_ok = out_total = out_ok = acc_total = acc_ok = 0
    errors: list[dict[str, Any]] = []
    for row in rows:
        record = match_record(matcher, policy, row["q"], AT)
        expect = expected_ids(row)
        if expect:
            in_total += 1
            ok = record["id"] in expect
            in_ok += ok
        else:
            out_total += 1
            ok = record["kind"] == "none"
            out_ok += ok
        if "accepted" in row:
            acc_total += 1
            acc_good = record["accepted"] == row["accepted"]
            acc_ok += acc_good
            ok = ok and acc_good
        if not ok:
            errors.append(
                {
                    "q": row["q"],
                    "expect": expect,
                    "got": record["id"],
                    "score": record["score"],
                    **({"origin": row["origin"]} if "origin" in row else {}),
                }
            )
    stats = {
        "in_scope": in_total,
        "top1_accuracy": round(in_ok / in_total, 4) if in_total else None,
        "out_of_scope": out_total,
        "correct_refusal_rate": round(out_ok / out_total, 4) if out_total else None,
        "accepted_flag_checked": acc_total,
        "accepted_flag_accuracy": round(acc_ok / acc_total, 4) if acc_total else None,
    }
    return stats, errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="holdout", choices=["holdout", "tune", "all"])
    parser.add_argument("--errors", action="store_true", help="list the misses")
    parser.add_argument("--by", help="also report figures per value of this field (origin, batch)")
    parser.add_argument(
        "--origin", action="append", help="only rows of this origin (repeatable), e.g. holdout-v8"
    )
    parser.add_argument(
        "--file", type=Path, help="a labelled JSONL outside the repository (all rows count)"
    )
    args = parser.parse_args()
    matcher = Matcher(load_shipped_catalogue())
    policy = load_shipped_policy()
    if args.file is not None:
        rows = read_jsonl(args.file)
        report: dict[str, Any] = {"file": str(args.file)}
    else:
        labelled = read_jsonl(LABELLED)
        rows = [r for r in labelled if args.split == "all" or r.get("split") == args.split]
        report = {"split": args.split}
        if args.origin:
            rows = [r for r in rows if r.get("origin") in args.origin]
            report["origin"] = args.origin
    report["labelled"], errors = evaluate(matcher, policy, rows)
    if args.by:
        groups: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(str(row.get(args.by)), []).append(row)
        report["by_" + args.by] = {
            key: {
                k: v
                for k, v in evaluate(matcher, policy, group)[0].items()
                if not k.startswith("accepted")
            }
            for key, group in sorted(groups.items())
        }
    dev = next((p for p in DEV_CANDIDATES if p.exists()), None)
    if dev is not None:
        report["faq_dev"], dev_errors = evaluate(matcher, policy, read_jsonl(dev))
        errors += [{**e, "set": "faq_dev"} for e in dev_errors]
    if args.errors:
        report["errors"] = errors
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
