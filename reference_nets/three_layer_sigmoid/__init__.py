"""Three-layer sigmoid net with squared loss.

The Code Review's network (source 003), in both layouts:

- :mod:`reference_nets.three_layer_sigmoid.row_major`: examples in rows, X is (batch, d_in);
- :mod:`reference_nets.three_layer_sigmoid.column_major`: examples in columns, X is
  (d_in, batch), as in the Code Review.

Two sigmoid hidden layers and a linear output layer. Loss: the mean over the batch of
½‖prediction − target‖², L = (1/N) Σ_i ½‖p_i − t_i‖². No regularisation.
"""

from reference_nets.three_layer_sigmoid import column_major, row_major

__all__ = ["column_major", "row_major"]
