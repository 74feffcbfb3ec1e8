"""Mutation-test the safety core with mutmut, one module at a time, each against the fast tests that judge it.

Run through ``./scripts/mutation`` (which installs mutmut into .venv). Each module gets a scratch directory
``var/mutation/<module>/`` (src and tests linked, pyproject copied with a ``[tool.mutmut]`` table appended), so
the working tree and its pyproject stay untouched; every run starts from scratch there, so no cached verdict
outlives a change to the code or the tests. mutmut runs each mutant only against the selected tests that execute
the mutated function.

Score = (killed + timed out) / mutants. A surviving mutant is listed with its diff and saved to
``var/mutation/<module>/survivors.txt``; docs/mutation.md says why each accepted survivor is equivalent.

Usage: ./scripts/mutation [--jobs N] [--min-score PCT] [module ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutation"
MUTMUT = Path(sys.executable).with_name("mutmut")


@dataclass(frozen=True)
class Target:
    source: str  # relative to src/
    tests: tuple[str, ...]  # unit-level only: a mutant runs every selected test that reaches its function


# The safety core (issue 11 §6) and the tests that judge each part. Keep these lists to fast, pure tests:
# mutmut runs them once per mutant.
TARGETS: dict[str, Target] = {
    "arming": Target("btcbot/arming.py", ("tests/unit/test_arming.py",)),
    "settings": Target("btcbot/settings.py", ("tests/unit/test_settings.py",)),
    "risk_gate": Target(
        "btcbot/runtime/risk_gate.py", ("tests/runtime/test_risk_gate_limits.py", "tests/runtime/test_decisions.py")
    ),
    "freshness": Target(
        "btcbot/runtime/freshness.py", ("tests/runtime/test_freshness_boundaries.py", "tests/runtime/test_decisions.py")
    ),
    "reconcile": Target(
        "btcbot/runtime/reconcile.py", ("tests/runtime/test_reconcile_rules.py", "tests/runtime/test_decisions.py")
    ),
    "lifecycle": Target(
        "btcbot/runtime/lifecycle.py", ("tests/runtime/test_lifecycle_rules.py", "tests/runtime/test_decisions.py")
    ),
    "kill_switch": Target("btcbot/runtime/kill_switch.py", ("tests/runtime/test_kill_switch_record.py",)),
    "lock": Target("btcbot/lock.py", ("tests/unit/test_lock.py",)),
    "redact": Target("btcbot/telemetry/redact.py", ("tests/telemetry/test_redaction.py",)),
    "intent_journal": Target("btcbot/storage/intent_journal.py", ("tests/storage/test_intent_journal_file.py",)),
    "signing": Target("btcbot/exchange/btcturk/signing.py", ("tests/exchange/test_signing.py",)),
    "translate": Target("btcbot/exchange/btcturk/translate.py", ("tests/exchange/test_translate.py",)),
}

KILLED = frozenset({"killed", "timeout"})


@dataclass(frozen=True)
class Score:
    module: str
    counts: dict[str, int]
    survivors: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def killed(self) -> int:
        return sum(n for status, n in self.counts.items() if status in KILLED)


def _toml_list(items: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def prepare(name: str, target: Target) -> Path:
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "src").symlink_to(ROOT / "src")
    (work / "tests").symlink_to(ROOT / "tests")
    config = (
        "\n\n[tool.mutmut]\n"
        'source_paths = ["src"]\n'
        f"only_mutate = {_toml_list(['src/' + target.source])}\n"
        f"pytest_add_cli_args_test_selection = {_toml_list(target.tests)}\n"
        # One process per mutant already; xdist workers inside it would only add start-up cost.
        'pytest_add_cli_args = ["-p", "no:xdist"]\n'
    )
    (work / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8") + config, "utf-8")
    return work


def run_module(name: str, target: Target, jobs: int) -> Score:
    work = prepare(name, target)
    missing = [t for t in target.tests if not (ROOT / t).exists()]
    if missing:
        raise SystemExit(f"{name}: test file(s) missing: {', '.join(missing)}")
    log = work / "mutmut.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [str(MUTMUT), "run", "--max-children", str(jobs)], cwd=work, stdout=out, stderr=subprocess.STDOUT
        )
    meta_path = work / "mutants" / "src" / (target.source + ".meta")
    if proc.returncode != 0 or not meta_path.exists():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{name}: mutmut failed (exit {proc.returncode}); end of {log}:\n{tail}")
    exit_codes: dict[str, int | None] = json.loads(meta_path.read_text(encoding="utf-8"))["exit_code_by_key"]
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for mutant, code in sorted(exit_codes.items()):
        status = status_by_exit_code[code]
        counts[status] = counts.get(status, 0) + 1
        if status not in KILLED:
            survivors.append(mutant)
    report = []
    for mutant in survivors:
        diff = subprocess.run(
            [str(MUTMUT), "show", mutant], cwd=work, capture_output=True, text=True, check=False
        ).stdout
        changed = [line for line in diff.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
        report.append(f"{mutant} ({status_by_exit_code[exit_codes[mutant]]})\n" + "\n".join(changed) + "\n")
    (work / "survivors.txt").write_text("\n".join(report), encoding="utf-8")
    return Score(name, counts, tuple(report))


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(TARGETS)}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested in parallel")
    parser.add_argument("--min-score", type=float, default=90.0, help="exit 1 below this total score (percent)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests, then exit")
    args = parser.parse_args()
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name:15} src/{target.source}\n{'':15} {' '.join(target.tests)}")
        return 0
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    dirty = " (uncommitted changes)" if _git("status", "--porcelain", "--", "src", "tests") else ""
    print(f"mutation run at {_git('rev-parse', '--short', 'HEAD')}{dirty}, {time.strftime('%Y-%m-%d')}")
    scores = []
    for name in args.modules or list(TARGETS):
        started = time.monotonic()
        score = run_module(name, TARGETS[name], args.jobs)
        scores.append(score)
        pct = 100.0 * score.killed / score.total if score.total else 100.0
        print(f"{name:15} {score.killed:4}/{score.total:<4} killed  {pct:5.1f} %  ({time.monotonic() - started:.0f} s)")
        for survivor in score.survivors:
            print("    " + survivor.replace("\n", "\n    ").rstrip())
    killed = sum(s.killed for s in scores)
    total = sum(s.total for s in scores)
    pct = 100.0 * killed / total if total else 100.0
    print(f"{'total':15} {killed:4}/{total:<4} killed  {pct:5.1f} %")
    return 0 if pct >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
