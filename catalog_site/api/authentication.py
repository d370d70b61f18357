"""API authentication: ``Authorization: Token <key>`` checked against hashed tokens."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from catalog_site.models import Token


class TokenAuthentication(authentication.BaseAuthentication):
    """Authenticates ``Authorization: Token <key>``; keys are compared by their SHA-256 digest."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Token <key>'.")
        try:
            key = header[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header: the key is not ASCII.") from exc
        token = Token.objects.for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or expired token.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        now = timezone.now()
        # Record use at most once a minute, so that reads do not each cost a write.
        if token.last_used is None or (now - token.last_used).total_seconds() > 60:
            Token.objects.filter(pk=token.pk).update(last_used=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
