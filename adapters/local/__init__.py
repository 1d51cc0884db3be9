"""Local-disk backend (`type: local`): the embedded default and an on-premises exit target.

Modules: store (the contract over a folder and a SQLite index per bucket), sweep (removes what
interrupted writes left on disk), family (settings, facts and the `sweep` command).
"""
