from django.apps import AppConfig


class IntegrationsGhlConfig(AppConfig):
    name = "integrations_ghl"
