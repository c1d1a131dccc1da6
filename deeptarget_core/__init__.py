"""deepTarget suite core library: sequences, file formats, site scanning, models, metrics.

Everything here is plain typed Python; the command-line layer lives in ``deeptarget_tools``.
"""

__version__ = "0.1.0"
