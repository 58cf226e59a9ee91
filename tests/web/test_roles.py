"""Roles derive the Django flags, and the last Administrator stays (issue 11, finding 7)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from saleschannel.core.roles import ADMINISTRATOR, OPERATOR, VIEWER, RoleError, assign_role, role_of
from saleschannel.sales.models import OrderState
from saleschannel.web import services
from tests import factories
from tests.factories import client_for, make_role_user

User = get_user_model()


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role, superuser", [(ADMINISTRATOR, True), (OPERATOR, False), (VIEWER, False)])
def test_assigning_a_role_sets_the_flags(db, role, superuser):
    make_role_user(ADMINISTRATOR, username="keeper")
    user = User.objects.create_user(username="u", password="x", is_staff=not superuser, is_superuser=not superuser)
    assign_role(user=user, role=role)
    user = fresh(user)
    assert (user.is_superuser, user.is_staff) == (superuser, superuser)
    assert role_of(user) == role


def test_a_demoted_superuser_loses_every_permission_at_once(store, products):
    make_role_user(ADMINISTRATOR, username="keeper")  # so that the demoted one is not the last Administrator
    chief = User.objects.create_superuser(username="chief", email="c@example.com", password="Chief-pass-123")
    client = client_for(chief)
    order = factories.make_order(store=store, items=[factories.line(products[0], 1)])
    assert client.get("/settings/users/").status_code == 200

    services.user_save(user=fresh(chief), username="chief", role=VIEWER)

    chief = fresh(chief)
    assert not chief.is_superuser and not chief.is_staff and role_of(chief) == VIEWER
    # The same session, the very next requests: an admin-only page and an Operator action are refused.
    assert client.get("/settings/users/").status_code == 403
    assert client.post(f"/sales/orders/{order.pk}/hold/").status_code == 403
    order.refresh_from_db()
    assert order.state != OrderState.HOLDED
    assert client.get(f"/sales/orders/{order.pk}/").status_code == 200  # a Viewer still reads


def test_demoting_through_the_users_screen_clears_the_flags(db):
    admin = make_role_user(ADMINISTRATOR)
    other = make_role_user(ADMINISTRATOR, username="other")
    assert fresh(other).is_superuser
    response = client_for(admin).post(f"/settings/users/{other.pk}/", {"username": "other", "role": OPERATOR,
                                                                       "is_active": "on"})
    assert response.status_code == 302
    other = fresh(other)
    assert role_of(other) == OPERATOR and not other.is_superuser and not other.is_staff
    assert other.has_perm("sales.process_order") and not other.has_perm("auth.change_user")


def test_the_list_shows_what_the_flags_say(db):
    admin = make_role_user(ADMINISTRATOR)
    make_role_user(ADMINISTRATOR, username="zed")
    services.user_save(user=User.objects.get(username="zed"), username="zed", role=VIEWER)
    page = client_for(admin).get("/settings/users/?q=zed").content.decode()
    zed = User.objects.get(username="zed")
    assert "Viewer" in page and "Administrator" not in page.split("<tbody>")[1]
    assert not zed.is_superuser
    # A superuser made outside the back office (manage.py createsuperuser) is listed as the Administrator it is.
    User.objects.create_superuser(username="root", email="r@example.com", password="Root-pass-123")
    assert "Administrator" in client_for(admin).get("/settings/users/?q=root").content.decode().split("<tbody>")[1]


def test_the_last_administrator_cannot_be_demoted_deactivated_or_deleted(db):
    admin = make_role_user(ADMINISTRATOR)
    viewer = make_role_user(VIEWER)
    for kwargs in ({"role": VIEWER}, {"role": ADMINISTRATOR, "is_active": False}):
        with pytest.raises(RoleError) as refused:
            services.user_save(user=fresh(admin), username=admin.username, **kwargs)
        assert "last active Administrator" in refused.value.message
    with pytest.raises(RoleError):
        assign_role(user=fresh(admin), role=OPERATOR)
    with pytest.raises(RoleError) as refused:
        services.user_delete(user=fresh(admin))
    assert "cannot be deleted" in refused.value.message
    admin = fresh(admin)
    assert admin.is_active and admin.is_superuser and role_of(admin) == ADMINISTRATOR  # nothing changed

    # With a second Administrator, the first may go.
    services.user_save(user=fresh(viewer), username=viewer.username, role=ADMINISTRATOR)
    services.user_save(user=fresh(admin), username=admin.username, role=OPERATOR)
    assert not fresh(admin).is_superuser
    with pytest.raises(RoleError):  # now the former Viewer is the last one
        services.user_delete(user=fresh(viewer))


def test_the_users_screen_shows_the_last_administrator_refusal(db):
    from django.contrib.auth.models import Permission

    admin = make_role_user(ADMINISTRATOR)
    # A Viewer trusted with managing users (a permission given by hand) tries to demote the only Administrator.
    clerk = make_role_user(VIEWER, username="clerk")
    clerk.user_permissions.add(Permission.objects.get(codename="change_user"))
    client = client_for(clerk)
    for data in ({"username": admin.username, "role": VIEWER, "is_active": "on"},
                 {"username": admin.username, "role": ADMINISTRATOR}):
        response = client.post(f"/settings/users/{admin.pk}/", data)
        assert response.status_code == 400
        assert "This is the last active Administrator" in response.content.decode()
    admin = fresh(admin)
    assert admin.is_active and admin.is_superuser and role_of(admin) == ADMINISTRATOR


def test_createadmin_derives_the_flags_from_the_role(db, capsys):
    user = User.objects.create_user(username="boss", password="x")
    assign_role(user=user, role=VIEWER)
    call_command("createadmin", username="boss", password="Boss-pass-12345")
    boss = fresh(user)
    assert boss.is_superuser and boss.is_staff and role_of(boss) == ADMINISTRATOR


def test_django_admin_cannot_bypass_the_roles(db):
    from django.contrib import admin as django_admin

    model_admin = django_admin.site._registry[User]
    assert {"is_superuser", "is_staff", "groups", "is_active"} <= set(model_admin.readonly_fields)


def test_django_admin_user_page_still_opens(db):
    admin = make_role_user(ADMINISTRATOR)
    viewer = make_role_user(VIEWER)
    response = client_for(admin).get(f"/django-admin/auth/user/{viewer.pk}/change/")
    assert response.status_code == 200


def test_the_migration_makes_existing_flags_follow_the_roles(db):
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    migration = importlib.import_module("saleschannel.web.migrations.0002_role_flags")
    keeper = make_role_user(ADMINISTRATOR, username="keeper")
    demoted = make_role_user(VIEWER, username="demoted")
    User.objects.filter(pk=demoted.pk).update(is_superuser=True, is_staff=True)  # what the bug left behind
    root = User.objects.create_superuser(username="root", email="r@example.com", password="Root-pass-123")
    User.objects.filter(pk=keeper.pk).update(is_superuser=False, is_staff=False)
    plain = User.objects.create_user(username="plain", password="x", is_staff=True)

    migration.derive_flags(apps, None)

    demoted, root, keeper, plain = (fresh(u) for u in (demoted, root, keeper, plain))
    assert not demoted.is_superuser and not demoted.is_staff and role_of(demoted) == VIEWER
    assert keeper.is_superuser and keeper.is_staff
    assert root.is_superuser and Group.objects.get(name=ADMINISTRATOR) in root.groups.all()
    assert plain.is_staff and not plain.groups.exists()  # no role: left alone
