"""The dense NumPy float forward pass of a certificate's weights (now in the
package: :mod:`exactseq.floatpass`), re-exported for the benchmarks.

    from benchmarks.floatpass import forward, timed
    outputs, error = forward(cert)            # float64 outputs, max Hausdorff error
    r = timed(cert, repeats=3)                # the same, plus the best time of 3
"""
from exactseq.floatpass import *  # noqa: F401,F403
from exactseq.floatpass import (CHUNK, THETA_BITS, __all__, convert, forward, hausdorff,  # noqa: F401
                                run, step, text_to_float, theta_of, timed)
