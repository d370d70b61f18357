"""The users API (NetBox's paths): ``/api/users/users/`` and ``/api/users/tokens/``.

- Users: superusers list, create, change and delete every user; anyone else reads only themselves
  and the users who hold a membership on a tenant they can see, and writes none.
- Tokens: each user lists, creates, changes and revokes their own (a superuser: everyone's). The
  key is answered once, by the POST that creates the token; only its digest is stored.
"""

import django_filters
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from rest_framework import permissions, serializers

from catalog_site.filtersets import BaseFilterSet
from catalog_site.models import Token

from .permissions import TokenWritePermission
from .routers import CatalogRouter
from .serializers import BaseModelSerializer, RelatedObjectField
from .views import CatalogModelViewSet

User = get_user_model()


# -- serializers --------------------------------------------------------------------------------

class UsersAPISerializer(BaseModelSerializer):
    """Links to this API's routes (``users-api:``), not to the models' apps (``auth``, ``catalog_site``)."""

    def get_fields(self):
        fields = super().get_fields()
        if "url" in fields:
            fields["url"] = serializers.HyperlinkedIdentityField(
                view_name=f"users-api:{self.Meta.model._meta.model_name}-detail"
            )
        return fields


class UserSerializer(UsersAPISerializer):
    """A user; the password is write-only, checked by the password validators and stored hashed."""

    password = serializers.CharField(write_only=True, required=False, trim_whitespace=False,
                                     style={"input_type": "password"},
                                     help_text="Write-only. Without it a new user cannot log in with a password.")

    class Meta:
        model = User
        fields = ("id", "url", "display", "username", "password", "first_name", "last_name", "email",
                  "is_active", "is_staff", "is_superuser", "date_joined", "last_login")
        read_only_fields = ("date_joined", "last_login")
        brief_fields = ("id", "url", "display", "username")

    def model_instance(self, attrs):
        # The model validates the stored hash, not the password typed: leave the password out.
        instance = super().model_instance({name: value for name, value in attrs.items() if name != "password"})
        if not instance.password:
            instance.set_unusable_password()
        return instance

    def validate(self, attrs):
        password = attrs.pop("password", None)
        attrs = super().validate(attrs)
        if password is not None:
            try:
                password_validation.validate_password(password, user=self.model_instance(attrs))
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
            attrs["password"] = password
        return attrs

    def create(self, validated_data):
        password = validated_data.pop("password", None)
        user = User(**validated_data)
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save()
        return user

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        if password is not None:
            instance.set_password(password)
        return super().update(instance, validated_data)


class TokenSerializer(UsersAPISerializer):
    """An API token. ``user`` defaults to the caller; only a superuser may name another user."""

    user = RelatedObjectField(serializer=UserSerializer, queryset=User.objects.all(), required=False)

    class Meta:
        model = Token
        fields = ("id", "url", "display", "user", "prefix", "description", "created", "expires", "last_used",
                  "write_enabled")
        read_only_fields = ("prefix", "created", "last_used")
        brief_fields = ("id", "url", "display", "prefix", "description", "write_enabled")

    def validate_expires(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("The expiry must lie in the future.")
        return value

    def validate(self, attrs):
        # Not the model's full_clean(): the digest and the prefix only exist once Token.issue() has
        # drawn the key. The fields are checked one by one above; ownership is the only rule.
        caller = self.context["request"].user
        if self.instance is not None:
            if "user" in attrs and attrs["user"] != self.instance.user:
                raise serializers.ValidationError({"user": "A token cannot change hands: create a new one."})
            return attrs
        attrs.setdefault("user", caller)
        if attrs["user"] != caller and not caller.is_superuser:
            raise serializers.ValidationError({"user": "You can only create tokens for yourself."})
        return attrs

    def create(self, validated_data):
        token, key = Token.issue(**validated_data)
        token.key = key
        return token


class TokenCreatedSerializer(TokenSerializer):
    """The answer to the POST that creates a token: the only one that carries its key."""

    key = serializers.CharField(read_only=True, help_text="The key, shown in this answer only: keep it.")

    class Meta(TokenSerializer.Meta):
        fields = (*TokenSerializer.Meta.fields, "key")
        brief_fields = (*TokenSerializer.Meta.brief_fields, "key")


# -- filters ------------------------------------------------------------------------------------

class UserFilterSet(BaseFilterSet):
    """``?username=``, ``?email=``, ``?is_active=``, ``?is_staff=``, ``?is_superuser=``, ``?q=``."""

    search_fields = ("username", "first_name", "last_name", "email")

    class Meta:
        model = User
        fields = {"username": ["exact", "icontains"], "email": ["exact", "icontains"], "is_active": ["exact"],
                  "is_staff": ["exact"], "is_superuser": ["exact"]}


class TokenFilterSet(BaseFilterSet):
    """``?user_id=``, ``?username=``, ``?write_enabled=``, ``?q=`` (prefix, description, user name)."""

    user_id = django_filters.NumberFilter(field_name="user_id")
    username = django_filters.CharFilter(field_name="user__username")
    search_fields = ("prefix", "description", "user__username")

    class Meta:
        model = Token
        fields = {"write_enabled": ["exact"]}


# -- views --------------------------------------------------------------------------------------

class SuperuserWrites(permissions.BasePermission):
    """Reads for every authenticated user; writes for superusers only."""

    message = "Only a superuser can create, change or delete users."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or request.user.is_superuser


class UserViewSet(CatalogModelViewSet):
    """Users: a superuser sees all; anyone else themselves and the members of the tenants they see."""

    queryset = User.objects.order_by("username")
    serializer_class = UserSerializer
    filterset_class = UserFilterSet
    permission_classes = [permissions.IsAuthenticated, TokenWritePermission, SuperuserWrites]

    def get_queryset(self):
        return self.access.restrict_users(super().get_queryset())


class TokenViewSet(CatalogModelViewSet):
    """API tokens: your own (a superuser: everyone's). POST answers the key, once."""

    queryset = Token.objects.select_related("user")
    serializer_class = TokenSerializer
    filterset_class = TokenFilterSet
    permission_classes = [permissions.IsAuthenticated, TokenWritePermission]

    def get_queryset(self):
        queryset = super().get_queryset()
        user = self.request.user
        if not user.is_authenticated:
            return queryset.none()
        return queryset if user.is_superuser else queryset.filter(user=user)

    def get_serializer_class(self):
        return TokenCreatedSerializer if self.action == "create" else TokenSerializer

    # A token belongs to a user, not to a tenant: the queryset (your own tokens) and the serializer
    # (tokens for yourself) decide who writes it, and no model permission or tenant role is asked.
    def perform_create(self, serializer):
        serializer.save()

    def perform_update(self, serializer):
        serializer.save()

    def perform_destroy(self, instance):
        instance.delete()


router = CatalogRouter()
router.register("users", UserViewSet)
router.register("tokens", TokenViewSet)

urlpatterns = router.urls
