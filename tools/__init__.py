"""Command-line executables of the deepTarget suite (installed as ``deeptarget_tools``).

One thin module per executable: parse options, call one function of ``deeptarget_core``.
"""
