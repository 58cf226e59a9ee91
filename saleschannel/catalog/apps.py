from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "saleschannel.catalog"
    label = "catalog"

    def ready(self) -> None:
        from saleschannel.core import navigation, roles

        # Operators create products (screens, CSV import) as well as change them; Viewers only read.
        roles.grant(roles.OPERATOR, "catalog.add_product")
        navigation.register("catalog", _("Import Products"), "catalog:product_import",
                            permission="catalog.add_product", order=20)
