from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "saleschannel.catalog"
    label = "catalog"

    def ready(self) -> None:
        # Imported in ready(), not at module level: core.roles imports django.contrib.auth.models, which Django
        # refuses to load while it is still importing the apps' AppConfig modules (AppRegistryNotReady).
        from saleschannel.core import navigation, roles

        # Operators create products (screens, CSV import) as well as change them; Viewers only read.
        roles.grant(roles.OPERATOR, "catalog.add_product")
        navigation.register("catalog", _("Import Products"), "catalog:product_import",
                            permission="catalog.add_product", order=20)
