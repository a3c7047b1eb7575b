from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views

_contact = "contacts/<str:contact_id>"

urlpatterns = [
    path("grants", views.GrantView.as_view()),
    path("entitlements/check-eligibility", views.CheckView.as_view()),
    path("entitlements/deduct", views.DeductView.as_view()),
    path("entitlements/restore", views.RestoreView.as_view()),
    path(f"{_contact}", views.ContactView.as_view()),
    path(f"{_contact}/summary", views.SummaryView.as_view()),
    path(f"{_contact}/credits", views.CreditsView.as_view()),
    path(f"{_contact}/entitlements", views.EntitlementsView.as_view()),
    path(f"{_contact}/appointments/upcoming", views.UpcomingView.as_view()),
    path(f"{_contact}/appointments/past", views.PastView.as_view()),
    path(f"{_contact}/ledger", views.LedgerView.as_view()),
    path(f"{_contact}/payments", views.PaymentsView.as_view()),
    path(f"{_contact}/timeline", views.TimelineView.as_view()),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so script-src 'self' allows it.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^.*$", views.route_not_found),
]
