"""Linear softmax classifier with L2 regularisation.

The course notebook's model (source 002), in both layouts:

- :mod:`reference_nets.linear_softmax.row_major`: examples in rows, X is (batch, d_in);
- :mod:`reference_nets.linear_softmax.column_major`: examples in columns, X is (d_in, batch).

Loss: L = −(1/N) Σ_i log softmax(s_i)[y_i] + ½·reg·ΣW².
"""

from reference_nets.linear_softmax import column_major, row_major

__all__ = ["column_major", "row_major"]
