"""check_gradients and check_layer: the check, as the steps listed in ``check.py``."""
