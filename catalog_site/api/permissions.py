"""API permissions: who may call an endpoint at all.

What a caller may see and change is decided object by object by ``catalog_site.access``: the
view's queryset holds only what the caller may see, and every write is checked against the
caller's role on the object's tenant (or, for shared objects without a tenant, against the Django
model permission). The permission class here asks for an authenticated user, and refuses every
write to a read-only token.
"""

from rest_framework import permissions

from catalog_site.models import Token


class TokenWritePermission(permissions.BasePermission):
    """A request authenticated by a token without ``write_enabled`` may only read (GET, HEAD, OPTIONS)."""

    message = "This API token is read-only (write_enabled is off): it cannot create, change or delete."
    code = "read_only_token"

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return not (isinstance(request.auth, Token) and not request.auth.write_enabled)


class AccessPermission(permissions.BasePermission):
    """Every endpoint needs an authenticated user; a read-only token only reads. Objects are scoped by the views."""

    def has_permission(self, request, view):
        token_write = TokenWritePermission()
        if not token_write.has_permission(request, view):
            self.message, self.code = token_write.message, token_write.code
            return False
        return bool(request.user and request.user.is_authenticated)
