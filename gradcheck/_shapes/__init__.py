"""Shapes: what a gradient's shape says, and what the annotations and the code say of it.

* ``rule.py``: a gradient has its parameter's shape; a differing shape, classified and
  described (transposed, keepdims, batch); the one place a shape slip is worded.
* ``structure.py``: gradients that lack a key, have one too many, or the wrong shape.
* ``annotations.py``: a function's jaxtyping annotations, enforced and explained, with
  ``walker.py`` (every array, and where a dimension got its size) and ``axes.py``
  (an annotation's dtypes and axes, read by jaxtyping's documented grammar).
* ``trace.py``: ``shape_trace``, with ``dim_names.py``, ``argument_builder.py``,
  ``source.py``, ``render.py`` and ``recorder.py``.

Why a shape names the mistake: docs/shape-rule.md.
"""
