from django.urls import path

from . import views

urlpatterns = [
    path("", views.billing_page, name="billing"),
    path("start-trial/", views.start_trial, name="billing-start-trial"),
    path("checkout/", views.checkout, name="billing-checkout"),
    path("portal/", views.portal, name="billing-portal"),
]
