"""Resource providers and their authorizations: ``/api/services/providers/``, ``/provider-authorizations/``.

An admin of the owner tenant creates a provider and makes it available; an admin of a tenant to
which it is available authorizes it (POST) or revokes the authorization (DELETE). The provider's
service account is created with it and shown read-only.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog_site.api.serializers import BaseModelSerializer, RelatedObjectField, StrictInputMixin
from catalog_site.api.users import TokenCreatedSerializer
from catalog_site.api.views import CatalogModelViewSet
from catalog_site.models import Token
from dcim.models import Location
from tenancy.models import Tenant

from .. import filtersets, providers
from ..models import Provider, ProviderAuthorization, ServiceType

TENANT_SERIALIZER = "tenancy.api.serializers.TenantSerializer"


class ServiceAccountSerializer(serializers.ModelSerializer):
    """The user a provider's runs act as."""

    class Meta:
        model = get_user_model()
        fields = ("id", "username")


class ServiceAccountTokenSerializer(StrictInputMixin, serializers.Serializer):
    """The body of ``POST /providers/{id}/tokens/``: what a token of the service account is for."""

    description = serializers.CharField(max_length=200, required=False, default="")
    expires = serializers.DateTimeField(required=False, allow_null=True, default=None)
    write_enabled = serializers.BooleanField(required=False, default=True)

    def validate_expires(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must lie in the future.")
        return value


class ProviderSerializer(BaseModelSerializer):
    """A provider: its owner, the service types it fulfils, where and to whom it is available.

    ``available_to`` holds the owner or tenants under it; ``available_in`` names locations one by
    one (a site under a named metro is not included). ``authorization_count`` counts the
    authorizations the caller can see.
    """

    owner = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all())
    service_types = RelatedObjectField(serializer="services.api.serializers.ServiceTypeSerializer",
                                       queryset=ServiceType.objects.all(), many=True, required=False)
    available_to = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all(), many=True,
                                      required=False)
    available_in = RelatedObjectField(serializer="dcim.api.serializers.LocationSerializer",
                                      queryset=Location.objects.all(), many=True, required=False)
    service_account = ServiceAccountSerializer(read_only=True)

    class Meta:
        model = Provider
        fields = ("id", "url", "display", "name", "slug", "owner", "service_types", "available_to", "available_in",
                  "service_account", "description", "annotations", "created", "last_updated")
        brief_fields = ("id", "url", "display", "name", "slug")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        owner = attrs.get("owner", getattr(self.instance, "owner", None))
        if "available_to" in attrs:
            tenants = attrs["available_to"]
        elif self.instance is not None:
            tenants = list(self.instance.available_to.all())
        else:
            tenants = []
        errors = providers.availability_errors(owner, tenants)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ProviderAuthorizationSerializer(BaseModelSerializer):
    """A tenant's authorization of a provider, for the tenant alone (``tenant``) or its subtree (``subtree``).

    The provider must be available to the tenant. Neither side changes afterwards: revoke (DELETE)
    and authorize again.
    """

    provider = RelatedObjectField(serializer=ProviderSerializer, queryset=Provider.objects.all())
    tenant = RelatedObjectField(serializer=TENANT_SERIALIZER, queryset=Tenant.objects.all())

    class Meta:
        model = ProviderAuthorization
        fields = ("id", "url", "display", "provider", "tenant", "scope", "created", "last_updated")
        brief_fields = ("id", "url", "display", "scope")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        errors = {}
        if self.instance is not None:
            for name in ("provider", "tenant"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    errors[name] = ["An authorization cannot move: revoke it (DELETE) and authorize anew."]
        else:
            errors = providers.authorization_errors(attrs.get("provider"), attrs.get("tenant"))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ProviderViewSet(CatalogModelViewSet):
    """Resource providers: created and made available by an admin of the owner tenant.

    Seen by the owner's subtree, by the tenants it is available to and by those whose services it
    fulfils. Deleting one that fulfils services is refused (409).
    """

    queryset = Provider.objects.select_related("owner", "service_account").prefetch_related(
        "service_types", "available_to", "available_in")
    serializer_class = ProviderSerializer
    filterset_class = filtersets.ProviderFilterSet

    @extend_schema(request=ServiceAccountTokenSerializer, responses={201: TokenCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="tokens", url_name="tokens")
    def tokens(self, request, pk=None):
        """Issue an API token of the provider's service account (an admin of the owner): 201 with the key, once.

        The provider's own systems use it to report statuses and read what the provider serves;
        the token reaches exactly what the service account reaches. Revoke it at
        ``/api/users/tokens/{id}/`` (superusers) or by deleting the provider.
        """
        provider = self.get_object()
        self.access.check_write(provider, "change")
        body = ServiceAccountTokenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token, key = Token.issue(user=provider.service_account, **body.validated_data)
        token.key = key
        return Response(TokenCreatedSerializer(token, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)


class ProviderAuthorizationViewSet(CatalogModelViewSet):
    """Authorizations of providers: granted and revoked (DELETE) by an admin of the authorizing tenant.

    Revoking stops new orders; the services already ordered keep running (their
    ``provider_authorized`` turns false) until they are decommissioned.
    """

    queryset = ProviderAuthorization.objects.select_related("provider", "tenant")
    serializer_class = ProviderAuthorizationSerializer
    filterset_class = filtersets.ProviderAuthorizationFilterSet
