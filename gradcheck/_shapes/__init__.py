"""Shapes: what a gradient's shape says, and what the annotations and the code say of it.

* :mod:`.rule`: a gradient has its parameter's shape; a differing shape, classified and
  described (transposed, keepdims, batch); the one place a shape slip is worded.
* :mod:`.structure`: gradients that lack a key, have one too many, or the wrong shape.
* :mod:`.annotations`: a function's jaxtyping annotations, enforced and explained, with
  :mod:`.walker` (every array, and where a dimension got its size) and :mod:`.axes`
  (an annotation's dtypes and axes, read by jaxtyping's documented grammar).
* :mod:`.trace`: ``shape_trace``, with :mod:`.dim_names`, :mod:`.argument_builder`,
  :mod:`.source`, :mod:`.render` and :mod:`.recorder`.

Why a shape names the mistake: docs/shape-rule.md.
"""
