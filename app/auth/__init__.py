"""Who may do what: users, per-pack roles and clearances, logins (``app.auth.users``).

A role grants actions on one pack (or every pack, ``*``): ``viewer`` chats, ``editor`` also
uploads, deletes and re-indexes, ``admin`` also runs evaluations, manages adapters and users
and reads the audit log. A clearance is a set of document labels (``restricted``...) the user
may read in that pack; retrieval never returns a document carrying a label outside it.
Import from the modules (``app.auth.principal``, ``app.auth.users``): the audit log checks
principals, and the user store writes to the audit log.
"""
