"""Serializers of the tenancy API."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField

from ..models import Membership, Tenant


class UserBriefSerializer(serializers.ModelSerializer):
    """A user as shown inside other objects."""

    display = serializers.CharField(source="username", read_only=True)

    class Meta:
        model = get_user_model()
        fields = ("id", "username", "display")

    def __init__(self, *args, brief=True, **kwargs):
        super().__init__(*args, **kwargs)


class TenantSerializer(BaseModelSerializer):
    parent = RelatedObjectField(
        serializer="tenancy.api.serializers.TenantSerializer",
        queryset=Tenant.objects.all(),
        required=False,
        allow_null=True,
    )
    depth = serializers.IntegerField(source="level", read_only=True)

    class Meta:
        model = Tenant
        fields = ("id", "url", "display", "name", "slug", "parent", "depth", "description", "annotations",
                  "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug", "depth")


class MembershipSerializer(BaseModelSerializer):
    user = RelatedObjectField(serializer=UserBriefSerializer, queryset=get_user_model().objects.all())
    tenant = RelatedObjectField(serializer=TenantSerializer, queryset=Tenant.objects.all())

    class Meta:
        model = Membership
        fields = ("id", "url", "display", "user", "tenant", "role", "created", "last_updated")
        brief_fields = ("id", "url", "display", "role")
