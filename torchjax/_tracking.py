"""Two process-wide facts the state-slot mechanism needs, kept dependency-free so every layer
can import it: the structure epoch and the set of modules a running trace may touch.

- ``epoch`` grows on every change that can alter a compiled program: a parameter, buffer or
  submodule registered, replaced or deleted anywhere, a ``training`` or ``requires_grad`` flag
  set, a hook added or removed. Caches compare it in O(1) and re-validate only when it moved.
- ``traced_modules`` is None outside ``torchjax.compile``'s tracing; inside, the ids of the
  modules passed as arguments (and of those created during the trace). A module outside it is
  one the function reached through a closure or a global, whose state would be baked in.

- ``buffer_writes``, while a transform runs, records ``(buffers dict, name, old value)`` for
  every buffer rebound (``ABSENT`` as the old value of a new name), so one of a module the
  transform did not collect (reached through a closure) can be restored instead of keeping a tracer.
- ``grad_access``, while ``compile`` traces a step, maps each Parameter id to whether its
  ``grad`` was first read or written, so grads the step overwrites before reading
  (``zero_grad()`` first) are dropped from the program's inputs.
- ``forward_mode`` counts the forward-mode transforms running (jvp, jacfwd): backward hooks are
  custom_vjp rules, which forward mode cannot differentiate, and they have nothing to do there.
- ``module_type`` and ``module_global_hooks`` are set by ``nn.Module`` as it is defined: the state
  slots sit below the module system (its backward hooks run on them) and cannot import it, yet walk
  module trees (``module_type``) and key compiled programs on the hooks registered for every module
  (``module_global_hooks()``, their ids).
"""

from __future__ import annotations

from collections.abc import Callable

epoch = 0
traced_modules: set[int] | None = None
buffer_writes: list | None = None
forward_mode = 0
grad_access: dict[int, str] | None = None
ABSENT = object()  # the old value of a buffer name that did not exist before a recorded write
module_type: type = type(None)
module_global_hooks: Callable[[], tuple] = tuple


def bump() -> None:
    global epoch
    epoch += 1
