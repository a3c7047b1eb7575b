"""The product's URLs plus /bench/floor, the framework floor the endpoints are compared with."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class FloorView(APIView):
    """The least an authenticated /api/v2 call costs: DRF parsing, bearer-token lookup (the
    project's default authentication class, one indexed query) and a JSON response; no engine
    work, no rate limit, no transaction."""

    def get(self, request):
        return Response({"ok": True, "location_id": request.auth.location.location_id})


urlpatterns = [
    path("bench/floor", FloorView.as_view()),
    path("", include("kotally.urls")),
]
