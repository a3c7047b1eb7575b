from django.apps import AppConfig


class EmbedConfig(AppConfig):
    name = "embed"
    verbose_name = "Embedded pages (GoHighLevel)"
