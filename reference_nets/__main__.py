"""``python -m reference_nets``: the demo (see :mod:`reference_nets._demo`).

The demo's matrices are small (at most 800 × 1000), so one BLAS thread does the products
about as fast as two, while several threads on a busy machine can make every product ten
times slower (OpenBLAS threads wait for each other when they cannot all run). So unless
you say otherwise in the environment, the demo runs with one thread. This must happen
before NumPy is first imported, which is why the demo itself is imported afterwards.
"""

import os
import sys

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def _run() -> int:
    from reference_nets._demo import main

    return main()


if __name__ == "__main__":
    sys.exit(_run())
