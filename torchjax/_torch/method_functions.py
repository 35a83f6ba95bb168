"""Tensor methods torch also exposes as top-level functions: the in-place spellings (``torch.exp_(x)``,
``torch.zero_(x)``, ...) and ``adjoint``, ``clone``, ``detach``, ``fill``, ``index_put``.

One mechanism, no per-name code: ``torchjax.<name>`` is the Tensor method ``<name>`` called on its first
argument, for exactly the names torch has at top level (torch has ``torch.exp_`` but no ``torch.add_``). The
in-place spellings of ``torch.nn.functional`` ops (``torch.dropout_``, ``torch.relu_`` is a method here too)
are declared next to their ops in ``nn_ops.py``.
"""

from __future__ import annotations

from .._tensor import OPS, Tensor, tensor_arg

# torch.<name> for these names is Tensor.<name> (torch 2.13's top-level in-place spellings, and the out-of-place
# function forms below).
INPLACE_FUNCTIONS = """abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ asin_ asinh_
atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ conj_physical_ cos_ cosh_ deg2rad_ detach_ erf_ erfc_ exp2_
exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_
neg_ negative_ rad2deg_ reciprocal_ relu_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_
xlogy_ zero_""".split()
METHOD_FUNCTIONS = ["adjoint", "clone", "detach", "index_put"]


def _method_as_function(name: str):
    method = getattr(Tensor, name)

    def fn(input, *args, **kwargs):
        if name.endswith("_"):  # in place: only a Tensor can change (an array is immutable)
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
            return method(input, *args, **kwargs)
        return method(tensor_arg(input, name), *args, **kwargs)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``." + (
        " Writes into ``input`` and returns it." if name.endswith("_") else "")
    return fn


for _name in INPLACE_FUNCTIONS + METHOD_FUNCTIONS:
    OPS[_name] = _method_as_function(_name)
del _name


def fill(input, value) -> Tensor:
    """``torch.fill``: a new tensor of ``input``'s shape and dtype holding ``value`` (a number or 0-d tensor)."""
    return tensor_arg(input, "fill").clone().fill_(value)


OPS["fill"] = fill
