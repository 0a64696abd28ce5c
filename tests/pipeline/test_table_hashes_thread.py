"""The table-hash thread never deadlocks with the store's append of the same frames: polars
hangs when one thread converts a frame to Arrow while another reads the same frame object's
schema (seen as a nightly hung in `append_typed`), so `TableHashes` hashes clones."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_hashing_beside_to_arrow_of_the_same_frame_finishes() -> None:
    script = textwrap.dedent(
        """
        import time

        import polars as pl
        from engine.pipeline._lineage import TableHashes

        frame = pl.DataFrame({"a": ["x", "y", "z"] * 100_000}).with_columns(
            pl.col("a").cast(pl.Enum(["x", "y", "z"])), b=pl.lit(1.5)
        )
        tables = {f"t{i}": frame for i in range(100)}
        with TableHashes(tables) as hashes:
            until = time.monotonic() + 3
            while time.monotonic() < until:
                frame.to_arrow()
            assert len(set(hashes.result().values())) == 1
        print("done")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "done", done.stderr
