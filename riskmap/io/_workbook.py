"""Child process that parses a workbook (.xlsx, .xlsm, .xls, .ods) under a memory and time limit.

A few hundred bytes of workbook XML can make calamine allocate gigabytes (a
cell at XFD1048576 and a ``<dimension>`` of the whole sheet, one long shared
string referenced by thousands of cells) or abort the process outright (a
failed Rust allocation is SIGABRT, which would kill the Streamlit server).
riskmap therefore parses workbooks here, in a separate Python started with
``-I`` (isolated: no user site, no ``PYTHONPATH``, no current directory), with
``RLIMIT_AS`` (address space) and ``RLIMIT_CPU`` set before the file is
opened. It is run as a script (``python -I _workbook.py IN OUT MB SECONDS``),
imports nothing from riskmap, and writes the sheets it read to OUT as a
pickle (read back only by the parent that created OUT).

Exit codes: 0 read; 3 the library refused the file (its words on stderr);
4 out of memory (MemoryError); killed by a signal (SIGABRT, SIGKILL,
SIGXCPU) when a limit was hit inside native code.
"""

from __future__ import annotations

import resource
import sys

EXIT_UNREADABLE = 3
EXIT_MEMORY = 4


def _limit(mb: float, seconds: float) -> None:
    """Cap the address space at ``mb`` MiB above what the interpreter already holds, and CPU time at ``seconds``."""
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[0]) * resource.getpagesize()
    cap = current + int(mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = max(1, int(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def main(argv: list[str]) -> int:
    """Read workbook ``argv[0]`` into a pickle at ``argv[1]`` within ``argv[2]`` MiB and ``argv[3]`` s CPU."""
    source, target, mb, seconds = argv[0], argv[1], float(argv[2]), float(argv[3])
    import pickle

    import pandas as pd
    import python_calamine  # noqa: F401  (imported before the limit: its code is not counted)

    _limit(mb, seconds)
    try:
        sheets = pd.read_excel(
            source, sheet_name=None, dtype=object, header=None, engine="calamine", keep_default_na=False, na_values=[""]
        )
        with open(target, "wb") as fh:
            pickle.dump(sheets, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        return EXIT_MEMORY
    except Exception as exc:  # calamine and pandas raise many types for corrupt files
        sys.stderr.write(" ".join(str(exc).split())[:500] or type(exc).__name__)
        return EXIT_UNREADABLE
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
