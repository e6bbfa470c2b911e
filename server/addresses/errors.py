"""Error codes of the address book (clients see them in error.code; catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class AddressCode(DeclaredCode):
    ADDRESS_BOOK_FULL = "address_book_full", 409
