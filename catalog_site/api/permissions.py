"""API permissions: Django's model permissions, including ``view`` for reads."""

from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Authenticated users need the model's ``view`` permission to read and add/change/delete to write.

    Superusers have every permission. Views without a queryset (the API root, the schema) only need
    an authenticated user.
    """

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return super().has_permission(request, view)
