from django.urls import path

import kotally.lib.paths  # noqa: F401 (registers the `key` converter)

from . import views

urlpatterns = [
    path("product-configs/", views.config_list, name="product-configs"),
    path("product-configs/new/", views.config_new, name="product-config-new"),
    path("product-configs/<key:public_id>/edit/", views.config_edit, name="product-config-edit"),
    path(
        "product-configs/<key:public_id>/remove/",
        views.config_remove,
        name="product-config-remove",
    ),
    path("contacts/", views.contact_list, name="contacts"),
    path("contacts/export.csv", views.contact_export, name="contacts-export"),
    path("contacts/ledger.csv", views.ledger_export, name="ledger-export"),
    path("contacts/comp/", views.contact_comp, name="contact-comp"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/adjust/", views.contact_adjust, name="contact-adjust"),
    path("lots/<key:public_id>/pause/", views.lot_pause, name="lot-pause"),
    path("lots/<key:public_id>/resume/", views.lot_resume, name="lot-resume"),
]
