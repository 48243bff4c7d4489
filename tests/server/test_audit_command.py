"""`pond audit` from the command line (its own process, as an operator runs it): each discrepancy printed, exit 1."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pond_audit(database: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POND_")}
    env["POND_DATABASE_URL"] = f"sqlite://{database}"
    return subprocess.run([sys.executable, "-c", "from server.cli import cli; cli()", "audit"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_pond_audit_passes_clean_books_and_prints_each_discrepancy_with_exit_1(tmp_path: Path) -> None:
    database = tmp_path / "audit.sqlite3"
    clean = pond_audit(database)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "WeChat Pay is simulated" in clean.stdout and "FAIL" not in clean.stdout

    with sqlite3.connect(database) as conn:
        conn.execute("INSERT INTO balance (owner_kind, owner_id, bucket, amount, updated_at) "
                     "VALUES ('customer', 1, 'principal', 100, '2026-01-01 00:00:00+00:00')")
    broken = pond_audit(database)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "customer 1 principal: balance 100, ledger sum 0" in broken.stdout
