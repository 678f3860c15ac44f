"""Two-layer ReLU net with softmax cross-entropy and optional L2 regularisation.

The forum question's network (source 000), in both layouts:

- :mod:`reference_nets.two_layer_relu.row_major`: examples in rows, X is (batch, d_in);
- :mod:`reference_nets.two_layer_relu.column_major`: examples in columns, X is (d_in, batch).

Loss: L = −(1/N) Σ_i log softmax(s_i)[y_i] + ½·reg·(ΣW1² + ΣW2²).
"""

from reference_nets.two_layer_relu import column_major, row_major

__all__ = ["column_major", "row_major"]
