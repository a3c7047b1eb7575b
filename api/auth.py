"""Bearer-token authentication and per-endpoint scopes for /api/v2."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from .services import authenticate_token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer ktly_<client uuid>_<secret uuid>` → (None, ApiClient)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.NotAuthenticated("Missing bearer token.")
        client = authenticate_token(token.strip())
        if client is None:
            raise exceptions.AuthenticationFailed("Unknown, rotated or deactivated token.")
        return (None, client)

    def authenticate_header(self, request):
        return 'Bearer realm="kotally"'


class ScopeRequired(exceptions.PermissionDenied):
    default_code = "SCOPE_REQUIRED"


class HasScope(permissions.BasePermission):
    """The view's `required_scope` must be among the client's scopes."""

    def has_permission(self, request, view):
        scope = getattr(view, "required_scope", None)
        if scope is None:
            return True
        if scope not in (request.auth.scopes if request.auth else []):
            raise ScopeRequired(f"This token lacks the '{scope}' scope.")
        return True


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer token in the OpenAPI schema."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ktly_<client uuid>_<secret uuid>",
        }
