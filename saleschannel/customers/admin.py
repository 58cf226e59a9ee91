from django.contrib import admin

from saleschannel.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "store", "created_at"]
    search_fields = ["email", "first_name", "last_name"]
