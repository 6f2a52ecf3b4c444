"""verirag core: the settings and the error tree every layer shares.

Kept tiny on purpose: ``domains``, ``knowledge``, ``app``, ``finetune`` and ``evals`` all
import from here, so nothing here may import them or do work at import time.
"""

__version__ = "0.1.0"
