import os
import sys

# Tests import the shared parity helpers as ``from parity import ...``.
sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
