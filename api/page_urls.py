from django.urls import path

from . import pages

urlpatterns = [
    path("", pages.client_list, name="api-clients"),
    path("new/", pages.client_new, name="api-client-new"),
    path("log/", pages.request_log, name="api-request-log"),
    path("<uuid:client_id>/test-deduct/", pages.client_test_deduct, name="api-client-test"),
    path("<uuid:client_id>/rotate/", pages.client_rotate, name="api-client-rotate"),
    path("<uuid:client_id>/deactivate/", pages.client_deactivate, name="api-client-deactivate"),
]
